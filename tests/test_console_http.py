"""GET /api/console and GET /api/groups over real sockets: the local host on Azurite, with
the readers' key on the read functions as the deployment hands it out."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from devhost.azurite import Azurite
from tests import apicontract as api
from tests.console_host import READER_KEY, console_host, send_alert
from tests.hosting import HostProcess


@pytest.fixture(scope="module")
def host(azurite: Azurite) -> Iterator[HostProcess]:
    """One host for the module, after the README's first alert moved `default` to West US."""
    with console_host(azurite) as process:
        assert "failed_over" == send_alert(process)
        yield process


def get(host: HostProcess, route: str, **params: str) -> requests.Response:
    """A GET with the readers' key in the header, its answer checked against the API document."""
    headers = {"x-functions-key": READER_KEY}
    return api.get(f"{host.url}/{route}", params=params, headers=headers)


def test_the_console_is_one_self_contained_page_without_a_key(host: HostProcess) -> None:
    """The page needs the readers' key, embeds none, loads nothing from elsewhere, and its
    policy allows only its own inline style and script and requests to this origin."""
    refused = api.get(f"{host.url}/console")
    page = api.get(f"{host.url}/console", params={"code": READER_KEY})

    assert 401 == refused.status_code
    assert 200 == page.status_code
    assert page.headers["Content-Type"].startswith("text/html")
    assert READER_KEY not in page.text
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", page.text)
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert "no-referrer" == page.headers["Referrer-Policy"]


def test_a_page_of_groups_shows_the_move_its_reason_and_the_incident(host: HostProcess) -> None:
    """The group on its secondary is found by the filter, with its open incident linked to
    the Service Health issue and the failover, with its reason, first in its timeline."""
    response = get(host, "groups", filter="secondary", search="DEFAULT")
    body = response.json()

    assert 200 == response.status_code
    assert (1, 1, 1) == (body["total"], body["pages"], body["configured"])
    group = body["groups"][0]
    assert ("contoso-westus", "secondary") == (group["account"]["name"], group["role"])
    incident = group["openIncidents"][0]
    assert "https://app.azure.com/h/VT0X-1AB/9b2c30" == incident["portalUrl"]
    newest = group["timeline"][0]
    assert ("failed_over", group["reason"]) == (newest["action"], newest["reason"])
    assert "VT0X-1AB" in newest["reason"]


def test_filters_that_match_nothing_give_an_empty_page(host: HostProcess) -> None:
    """Nothing is pinned, blocked or not ready after the first alert."""
    totals = [get(host, "groups", filter=f).json()["total"] for f in ("pinned", "blocked")]

    assert [0, 0] == totals


def test_an_unchanged_page_answers_304_to_its_etag(host: HostProcess) -> None:
    """A console that polls an unchanged page gets no body back."""
    first = get(host, "groups")
    again = requests.get(
        f"{host.url}/groups",
        headers={"x-functions-key": READER_KEY, "If-None-Match": first.headers["ETag"]},
        timeout=30,
    )

    assert (200, 304, b"") == (first.status_code, again.status_code, again.content)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"filter": "on-fire"}, "filter: 'on-fire' is not one of"),
        ({"page": "0"}, "page: '0' must be a whole number from 1 to"),
        ({"pageSize": "101"}, "pageSize: '101' must be a whole number from 1 to 100"),
        ({"timeline": "-1"}, "timeline: '-1' must be a whole number from 0 to 50"),
        ({"search": "x" * 101}, "search: at most 100 characters"),
        ({"sort": "name"}, "sort: unknown parameter"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    host: HostProcess, params: dict[str, str], named: str
) -> None:
    """Bad input is refused, naming the parameter; a mistyped filter never shows everything."""
    response = get(host, "groups", **params)

    assert 400 == response.status_code
    assert "InvalidRequest" == response.json()["error"]
    assert named in response.json()["message"]
