"""The console in a real browser: Debian's headless Chromium, driven by Selenium through the
system chromedriver (nothing is downloaded), against the local host on Azurite.

One browser session serves the whole module. Without Chromium the tests are skipped, except
under CI=true, where a missing browser fails them (`make unit` installs it: `make debian`).
Set CONSOLE_SCREENSHOT=docs/console.png to save the screenshot the README shows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from devhost.azurite import Azurite
from tests.console_host import (
    CONSOLE_ONLY_KEY,
    READER_KEY,
    console_host,
    run_readiness,
    send_alert,
)
from tests.hosting import ROOT, HostProcess, demo_config_in

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_SECONDS = 20
T = TypeVar("T")


def _browser_missing() -> str:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(str(p))]
    return ", ".join(missing)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the module."""
    if missing := _browser_missing():
        message = f"{missing} missing: install the Debian packages chromium and chromium-driver"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: the browser tests may not be skipped)")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,900", "--lang=en-US"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_script_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def host(azurite: Azurite) -> Iterator[HostProcess]:
    """The local host, each account probed once (so readiness shows evidence)."""
    with console_host(azurite) as process:
        run_readiness(process)
        yield process


def wait(browser: webdriver.Chrome, what: str, found: Callable[[webdriver.Chrome], T]) -> T:
    """Poll until `found(browser)` is truthy (a missing element counts as not yet), or fail
    naming `what`."""
    return WebDriverWait(
        browser,
        WAIT_SECONDS,
        ignored_exceptions=[NoSuchElementException, StaleElementReferenceException],
    ).until(found, f"timed out waiting for {what}")


def card(browser: webdriver.Chrome, group: str = "default") -> WebElement:
    """The group's card, once the page has rendered it."""
    css = f'section.group[data-group="{group}"]'
    return wait(browser, f"group {group}", lambda b: b.find_element(By.CSS_SELECTOR, css))


def open_console(browser: webdriver.Chrome, host: HostProcess, key: str, refresh: int) -> None:
    """Open the page with the key in its URL, as an SRE's bookmark would, and a fresh tab."""
    browser.get(f"{host.url}/console?code={key}&refresh={refresh}")
    browser.execute_script("sessionStorage.clear()")


def test_after_the_first_alert_the_page_shows_the_group_on_west_us_and_why(
    browser: webdriver.Chrome, host: HostProcess
) -> None:
    """The page, open before the alert, refreshes itself to show the move, its reason and
    the incident linked to Service Health; the timeline's newest dot is the failover."""
    open_console(browser, host, READER_KEY, refresh=2)
    before = card(browser).find_element(By.CSS_SELECTOR, ".head .active-account").text

    assert "failed_over" == send_alert(host)

    def moved(b: webdriver.Chrome) -> bool:
        head = card(b).find_element(By.CSS_SELECTOR, ".head .active-account")
        return bool(head.text == "contoso-westus")

    wait(browser, "the move to West US", moved)
    group = card(browser)
    reason = group.find_element(By.CSS_SELECTOR, ".reason").text
    dot = group.find_element(By.CSS_SELECTOR, "svg.strip circle")
    hover = dot.find_element(By.TAG_NAME, "title")
    link = group.find_element(By.CSS_SELECTOR, ".incidents a")
    readiness = group.find_element(By.CSS_SELECTOR, 'tr[data-account="contoso-westus"]').text
    group.find_element(By.CSS_SELECTOR, "details.timeline > summary").click()
    newest = group.find_element(By.CSS_SELECTOR, "ol.events li")

    assert "contoso-eastus" == before
    assert "secondary" in group.find_element(By.CSS_SELECTOR, ".head").text
    assert "Reason: contoso-eastus is impacted by VT0X-1AB; moved to contoso-westus" == reason
    assert "failed_over" == dot.get_attribute("data-action")
    assert "moved to contoso-westus" in str(hover.get_attribute("textContent"))
    assert "moved to contoso-westus" in newest.find_element(By.CSS_SELECTOR, ".why").text
    assert ("VT0X-1AB", "https://app.azure.com/h/VT0X-1AB/9b2c30") == (
        link.text,
        link.get_attribute("href"),
    )
    assert "healthy" in readiness
    assert browser.find_element(By.ID, "freshness").text.startswith("Updated")
    assert not browser.find_element(By.ID, "keyform").is_displayed()
    if target := os.environ.get("CONSOLE_SCREENSHOT"):
        screenshot(browser, ROOT / target)


def screenshot(browser: webdriver.Chrome, path: Path) -> None:
    """The whole page, as tall as it is, 1,280 pixels wide."""
    height = int(browser.execute_script("return document.documentElement.scrollHeight"))
    metrics = {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        browser.save_screenshot(str(path))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_filters_and_search_are_answered_by_the_server(
    browser: webdriver.Chrome, host: HostProcess
) -> None:
    """Pinned finds nothing; not on primary finds the moved group; a search narrows it."""
    open_console(browser, host, READER_KEY, refresh=60)
    card(browser)
    groups = browser.find_element(By.ID, "groups")

    Select(browser.find_element(By.ID, "filter")).select_by_value("pinned")
    wait(browser, "no pinned group", lambda b: "No group matches." in groups.text)
    Select(browser.find_element(By.ID, "filter")).select_by_value("secondary")
    card(browser)
    browser.find_element(By.ID, "search").send_keys("nobody-by-this-name")
    wait(browser, "an empty search", lambda b: "No group matches." in groups.text)

    assert "page 1 of 1 · 0 of 1 group(s)" == browser.find_element(By.ID, "pageinfo").text


def test_a_key_that_does_not_open_the_groups_is_asked_for_again(
    browser: webdriver.Chrome, host: HostProcess
) -> None:
    """The page opened with a key for the page alone says why it cannot read, asks for a
    key, and reads the groups with the one given."""
    open_console(browser, host, CONSOLE_ONLY_KEY, refresh=60)
    wait(browser, "the key form", lambda b: b.find_element(By.ID, "keyform").is_displayed())
    stale = browser.find_element(By.ID, "stale").text

    browser.find_element(By.ID, "key").send_keys(READER_KEY)
    browser.find_element(By.CSS_SELECTOR, "#keyform button").click()
    card(browser)

    assert "401" in stale
    assert not browser.find_element(By.ID, "stale").is_displayed()
    assert READER_KEY not in browser.page_source
    browser.execute_script("sessionStorage.clear()")


def test_a_group_in_shadow_mode_shows_where_apps_are_and_where_it_would_be(
    browser: webdriver.Chrome, azurite: Azurite
) -> None:
    """Shadow mode: after the first alert the card still shows East US as active, says it
    would be on West US and why, and the timeline's newest dot is the move not made."""
    with console_host(azurite, FAILOVER_CONFIG=demo_config_in("shadow")) as shadow_host:
        assert "would_fail_over" == send_alert(shadow_host)
        open_console(browser, shadow_host, READER_KEY, refresh=60)
        group = card(browser)
        head = group.find_element(By.CSS_SELECTOR, ".head").text
        would = group.find_element(By.CSS_SELECTOR, "p.shadow").text
        dot = group.find_element(By.CSS_SELECTOR, "svg.strip circle")
        active = group.find_element(By.CSS_SELECTOR, ".active-account").text

    assert "contoso-eastus" == active
    assert "shadow mode" in head
    assert would.startswith("Shadow mode: would be on contoso-westus since ")
    assert "contoso-eastus is impacted by VT0X-1AB" in would
    assert ("would_fail_over", "would") == (
        dot.get_attribute("data-action"),
        dot.get_attribute("class"),
    )
