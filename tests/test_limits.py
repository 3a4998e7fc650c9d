"""Table Storage's limits, end to end: fields too long or not valid Unicode are cut to fit
(200) or refused naming the field (400), never a 500, and never a row that cannot be read
back. Each case runs against the in-memory store (the fast path, which enforces the same
limits) and against real Azurite through the local host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import azure.functions as func
import pytest
from hypothesis import given
from hypothesis import strategies as st

from devhost.azurite import Azurite
from shared.adapters.memory_store import InMemoryStateStore
from shared.app.controller import Controller
from shared.core.limits import (
    MAX_STRING_UNITS,
    UnstorableValueError,
    check_entity,
    clean,
    fit,
    fit_list,
    has_lone_surrogate,
    utf16_units,
)
from shared.core.model import Config
from shared.http.handlers import HttpApi
from shared.settings import Settings, StorageSettings
from tests import alertfactory as af
from tests import apicontract as api
from tests.apicontract import checked
from tests.core import FakeClock, group
from tests.funcrequests import body_of, request
from tests.hosting import DEMO_CONFIG, HostProcess


@dataclass(frozen=True)
class Answer:
    """What a route answered."""

    status: int
    body: dict[str, object]


class InMemory:
    """The handlers over the in-memory store."""

    def __init__(self) -> None:
        config = Config(groups=(group(),))
        self.controller = Controller(config, InMemoryStateStore(), FakeClock())
        settings = Settings(config=config, storage=StorageSettings(connection_string="x=y"))
        self.api = HttpApi(settings, lambda: self.controller)

    def post(self, body: bytes) -> Answer:
        sent = request("POST", "alerts", body=body)
        response = checked(sent, self.api.alerts(sent))
        return Answer(response.status_code, body_of(response))

    def get(self, route: str) -> Answer:
        handler = {"status": self.api.status, "history": self.api.history}[route]
        sent = request("GET", route)
        response: func.HttpResponse = checked(sent, handler(sent))
        return Answer(response.status_code, body_of(response))


class OverHttp:
    """The local host on Azurite."""

    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, body: bytes) -> Answer:
        headers = {"Content-Type": "application/json"}
        response = api.post(f"{self.url}/alerts", data=body, headers=headers, timeout=60)
        return Answer(response.status_code, response.json())

    def get(self, route: str) -> Answer:
        response = api.get(f"{self.url}/{route}", timeout=60)
        return Answer(response.status_code, response.json())


@pytest.fixture(params=["in-memory", "azurite"])
def app(request: pytest.FixtureRequest) -> Iterator[InMemory | OverHttp]:
    """The app under test, on either store."""
    if request.param == "in-memory":
        yield InMemory()
        return
    azurite: Azurite = request.getfixturevalue("azurite")
    table: str = request.getfixturevalue("table_name")
    with HostProcess(azurite.connection_string, table, FAILOVER_CONFIG=str(DEMO_CONFIG)) as host:
        yield OverHttp(host.url)


def alert_text(**fields: object) -> bytes:
    """A Service Health alert with these fields, as JSON text (lone surrogates escaped)."""
    return json.dumps(af.service_health(**fields)).encode()  # type: ignore[arg-type]


def test_a_40000_character_title_is_cut_to_fit_with_a_marker(app: InMemory | OverHttp) -> None:
    """The alert applies (200); the history keeps the title's start and says it was cut."""
    answer = app.post(alert_text(title="T" * 40_000))
    history = app.get("history")

    title = history.body["records"][0]["evidence"]["title"]  # type: ignore[index]
    assert (200, "failed_over") == (answer.status, answer.body["outcome"])
    assert 200 == history.status
    assert title.startswith("TTTT")
    assert "[cut: " in title
    assert len(title) < 2_000


def test_a_1500_character_tracking_id_is_400_naming_the_field(app: InMemory | OverHttp) -> None:
    """An identifier is never cut: refused, naming trackingId, and nothing is written."""
    answer = app.post(alert_text(tracking_id="X" * 1_500))
    history = app.get("history")

    assert (400, "InvalidAlert") == (answer.status, answer.body["error"])
    assert "trackingId is 1,500 characters" in str(answer.body["message"])
    assert [] == history.body["records"]


@pytest.mark.parametrize(
    ("services", "regions"), [(3_000, 1), (1, 20_000)], ids=["3000 services", "20000 regions"]
)
def test_huge_service_and_region_lists_apply_and_stay_readable(
    app: InMemory | OverHttp, services: int, regions: int
) -> None:
    """Lists far beyond Azure's real ones: the alert applies, and status and history read."""
    names = [f"Service {n}" for n in range(services - 1)] + ["Azure AI Video Indexer"]
    region_names = ("East US", *(f"R{n}" for n in range(regions - 1)))
    body = alert_text(services=[(name, region_names) for name in names])

    answer = app.post(body)

    assert len(body) < 1024 * 1024
    assert (200, "failed_over") == (answer.status, answer.body["outcome"])
    assert (200, 200) == (app.get("status").status, app.get("history").status)


def test_a_lone_surrogate_in_a_title_is_stored_as_a_replacement_character(
    app: InMemory | OverHttp,
) -> None:
    """A title holding "\\ud800" applies; status and history keep answering, with U+FFFD."""
    answer = app.post(alert_text(title="broken \ud800 title"))
    status = app.get("status")
    history = app.get("history")

    title = history.body["records"][0]["evidence"]["title"]  # type: ignore[index]
    assert (200, 200, 200) == (answer.status, status.status, history.status)
    assert "broken \ufffd title" == title


def test_a_lone_surrogate_in_a_tracking_id_is_400(app: InMemory | OverHttp) -> None:
    """An identifier that is not valid Unicode is refused, naming the field."""
    payload = af.replaced(
        af.service_health(), "data.alertContext.properties.trackingId", "VT\udc00"
    )
    answer = app.post(json.dumps(payload).encode())

    assert (400, "InvalidAlert") == (answer.status, answer.body["error"])
    assert "trackingId holds a lone surrogate" in str(answer.body["message"])


def test_fit_cuts_by_utf16_units_and_says_how_much() -> None:
    """Characters outside the BMP count twice, as Table Storage counts them."""
    text = "\U0001f600" * 100  # 200 UTF-16 units

    cut = fit(text, 120)

    assert utf16_units(cut) <= 120
    assert cut.endswith("[cut: 64 more characters]")
    assert "ok" == fit("ok", 120)


def test_fit_list_keeps_what_fits_and_counts_the_rest() -> None:
    """A list longer than its budget ends with an item saying how many were cut."""
    items = [f"region {n:03d}" for n in range(1_000)]

    kept = fit_list(items, 200)

    assert kept[-1].startswith("… [cut: ")
    assert 200 >= sum(utf16_units(i) + 4 for i in kept[:-1])


@pytest.mark.parametrize(
    ("entity", "named"),
    [
        ({"PartitionKey": "g", "RowKey": "a/b"}, "RowKey holds a character"),
        ({"PartitionKey": "g" * 600, "RowKey": "r"}, "PartitionKey is longer than 1 KiB"),
        ({"PartitionKey": "g", "RowKey": "r", "Title": "x" * (MAX_STRING_UNITS + 1)}, "Title"),
        ({"PartitionKey": "g", "RowKey": "r", "Title": "a\udfffb"}, "not valid Unicode"),
    ],
    ids=["slash in a key", "long key", "long string", "lone surrogate"],
)
def test_check_entity_names_what_table_storage_would_refuse(
    entity: dict[str, object], named: str
) -> None:
    """The limits refuse, naming the entity and the property."""
    with pytest.raises(UnstorableValueError, match=named):
        check_entity(entity, "row under test")


_ANY_CHARACTER = st.one_of(
    st.characters(max_codepoint=0x7F),  # ASCII, the fast path
    st.characters(min_codepoint=0x80, exclude_categories=()),  # accents, astral, all of it
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
)


@given(st.lists(_ANY_CHARACTER, max_size=200).map("".join))  # st.text() leaves surrogates out
def test_the_fast_measures_agree_with_their_definitions(text: str) -> None:
    """UTF-16 units and lone surrogates, measured by the codecs, are what the definitions say
    character by character, for any text: ASCII, accents, astral characters, surrogates."""
    assert len(text) + sum(1 for c in text if ord(c) > 0xFFFF) == utf16_units(text)
    assert any("\ud800" <= c <= "\udfff" for c in text) == has_lone_surrogate(text)


def test_clean_replaces_only_lone_surrogates() -> None:
    """A valid astral character stays; a lone surrogate becomes U+FFFD."""
    assert "\U0001f600 \ufffd" == clean("\U0001f600 \ud83d")


def test_a_huge_signal_is_kept_cut_to_fit_with_the_watched_service_first(
    app: InMemory | OverHttp,
) -> None:
    """3,000 services with Video Indexer last: the audit line keeps the parsed signal cut to
    fit, with Video Indexer (the watched service) among the services kept."""
    names = [f"Service {n}" for n in range(2_999)] + ["Azure AI Video Indexer"]
    app.post(alert_text(services=[(name, ("East US",)) for name in names]))

    parsed = app.get("history").body["records"][0]["evidence"]["parsed"]  # type: ignore[index]

    kept = [s["name"] for s in parsed["services"]]
    assert ("Azure AI Video Indexer", True) == (kept[0], 1 < len(kept) < 3_000)
    assert len(json.dumps(parsed)) <= 32 * 1024
