"""GET /api/active-account gives apps the active account's accountId and location also when the
configuration leaves them to ARM: read over HTTP from the ARM stand-in once, then kept. An
active account ARM cannot tell about answers 503 ArmUnavailable for its own group only, never
a 200 with an empty id."""

from __future__ import annotations

from dataclasses import replace

from devhost.standin import AzureStandIn
from shared.adapters.arm import ArmClient, StaticTokenCredential
from shared.adapters.memory_store import InMemoryStateStore
from shared.app.controller import Controller
from shared.core.model import Account, Config
from shared.http.handlers import HttpApi
from shared.settings import Settings, StorageSettings
from tests.apicontract import checked
from tests.core import EAST, WEST, FakeClock, group
from tests.funcrequests import body_of, request


def _unconfigured(account: Account, name: str | None = None) -> Account:
    """The account with accountId and location left out, as the configuration may."""
    return replace(account, name=name or account.name, account_id="", location="")


def _api(standin: AzureStandIn, config: Config) -> HttpApi:
    arm = ArmClient(StaticTokenCredential("test-token"), base_url=standin.url, timeout=0.5)
    controller = Controller(config, InMemoryStateStore(), FakeClock(), arm=arm)
    settings = Settings(config=config, storage=StorageSettings(connection_string="x=y"))
    return HttpApi(settings, lambda: controller)


def _read(api: HttpApi, name: str) -> tuple[int, dict[str, object]]:
    sent = request("GET", "active-account", params={"group": name})
    response = checked(sent, api.active_account(sent))
    return response.status_code, body_of(response)


def test_ids_the_configuration_left_out_are_read_from_arm(standin: AzureStandIn) -> None:
    """The group's accounts name only their resource ids: the read answers the ids ARM holds."""
    api = _api(standin, Config(groups=(group(_unconfigured(EAST), _unconfigured(WEST)),)))

    status, body = _read(api, "default")

    expected = {
        "name": EAST.name,
        "accountId": EAST.account_id,
        "location": EAST.location,
        "resourceId": EAST.resource_id,
    }
    assert (200, expected) == (status, body["account"])


def test_an_active_account_arm_cannot_tell_about_is_503_for_its_group_only(
    standin: AzureStandIn,
) -> None:
    """ARM answers 404 for the orphan's active account: its read is 503 ArmUnavailable naming
    it; the other group, configured in full, answers 200."""
    standin.set_behaviour(EAST.name, "missing")
    orphan = group(_unconfigured(EAST), WEST, name="orphan")
    api = _api(standin, Config(groups=(orphan, group(name="steady"))))

    orphan_read, steady_read = _read(api, "orphan"), _read(api, "steady")

    assert (503, "ArmUnavailable") == (orphan_read[0], orphan_read[1]["error"])
    assert EAST.name in str(orphan_read[1]["message"])
    assert (200, EAST.account_id) == (steady_read[0], steady_read[1]["account"]["accountId"])  # type: ignore[index]
