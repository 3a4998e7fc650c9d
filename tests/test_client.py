"""The client library reads what the app writes, falls back in order, caches and revalidates.

Real parts throughout: the app under the local host on Azurite for the contract, Azurite
instances as table primary and secondary, a local HTTP server speaking the endpoint's wire
format for the timing tests (a fake clock, no sleeps), and the ARM/VI stand-in.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken, AzureNamedKeyCredential, AzureSasCredential
from azure.data.tables import TableClient
from vi_failover_client import (
    AccessTokenError,
    ActiveAccount,
    ActiveAccountClient,
    ActiveAccountUnavailableError,
    TableSource,
    UnknownGroupError,
    access_token,
    data_plane_url,
)

from devhost.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite, free_port
from devhost.standin import AzureStandIn
from shared.adapters.table_store import TableStateStore
from shared.core.decide import decide
from shared.core.failover import initial_state
from tests import alertfactory as af
from tests.activeaccount_server import ActiveAccountServer, view
from tests.core import T0, group, incident
from tests.hosting import DEMO_CONFIG, ROOT, HostProcess

FUNCTION_KEY = "fk-client-7d2e91c4b0a34f6e"
MASTER_KEY = "mk-client-1b8f03d5e7a94c22"
SAS_SIGNATURE = "c2VjcmV0LXNhcy1zaWduYXR1cmU"
ARM_TOKEN = "arm-client-5e1a7c9d3b2f4068"
EXAMPLE = ROOT / "client" / "examples" / "index_video.py"


class FakeClock:
    """A monotonic clock that moves only when told, and knows which threads have read it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._readers: set[int] = set()
        self._changed = threading.Condition()

    def __call__(self) -> float:
        with self._changed:
            self._readers.add(threading.get_ident())
            self._changed.notify_all()
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds

    def wait_for_readers(self, count: int) -> bool:
        """Block until `count` distinct threads have read the clock since the last advance."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._readers) >= count, timeout=10)

    def forget_readers(self) -> None:
        """Start counting reader threads afresh."""
        with self._changed:
            self._readers.clear()


class StaticCredential:
    """An azure-identity-style credential that hands out one fixed token and notes the scopes."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """The fixed token, valid for an hour."""
        self.scopes.append(scopes)
        return AccessToken(self.token, 2_000_000_000)


def as_view(account: ActiveAccount) -> dict[str, object]:
    """The account as the endpoint's JSON body, to compare with what the app serves."""
    return {
        "group": account.group,
        "account": {
            "name": account.name,
            "accountId": account.account_id,
            "location": account.location,
            "resourceId": account.resource_id,
        },
        "role": account.role,
        "since": account.since.isoformat(),
        "reason": account.reason,
        "version": account.version,
        "pinned": account.pinned,
    }


def dead_url() -> str:
    """A base URL on a port nothing listens on: a source that is down."""
    return f"http://127.0.0.1:{free_port()}"


def dead_table(**credential: Any) -> TableSource:
    """A table whose primary and secondary are both down."""
    return TableSource(
        primary_endpoint=f"{dead_url()}/{ACCOUNT_NAME}",
        secondary_endpoint=f"{dead_url()}/{ACCOUNT_NAME}",
        credential=credential.get("credential", AzureNamedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY)),
    )


def table_endpoint(azurite: Azurite) -> str:
    """The Azurite table service's endpoint, as a TableSource takes it."""
    return f"http://127.0.0.1:{azurite.port}/{ACCOUNT_NAME}"


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves."""
    return FakeClock()


@pytest.fixture
def endpoint() -> Iterator[ActiveAccountServer]:
    """The active-account endpoint's wire format on a local port: contoso-eastus, version 1."""
    with ActiveAccountServer() as server:
        yield server


# --- the contract: what the app writes ---------------------------------------------------------


def test_the_client_reads_what_the_app_serves_and_stores(azurite: Azurite, table_name: str) -> None:
    """After a failover and a pin, the endpoint and the table both read as the app's own view."""
    keys = {"LOCAL_FUNCTION_KEY": FUNCTION_KEY, "LOCAL_MASTER_KEY": MASTER_KEY}
    table = TableSource.from_connection_string(azurite.connection_string, table_name=table_name)
    with HostProcess(azurite.connection_string, table_name, **keys) as host:
        key = {"x-functions-key": FUNCTION_KEY}
        moved = requests.post(
            f"{host.url}/alerts",
            data=af.to_body(af.service_health()),
            headers={**key, "Content-Type": "application/json"},
            timeout=30,
        ).json()
        pinned = requests.post(
            f"{host.url}/failover",
            json={"pin": True, "pinMinutes": 60, "reason": "client contract"},
            headers={"x-functions-key": MASTER_KEY},
            timeout=30,
        ).json()
        served = requests.get(f"{host.url}/active-account?group=default", headers=key, timeout=30)
        with ActiveAccountClient(
            group="default", endpoints=[host.url], function_key=FUNCTION_KEY
        ) as client:
            through_endpoint = client.get()
        with ActiveAccountClient(group="default", table=table) as client:
            from_table = client.get()

    assert ("failed_over", "pinned") == (moved["outcome"], pinned["outcome"])
    assert ("contoso-westus", True) == (served.json()["account"]["name"], served.json()["pinned"])
    assert served.json() == as_view(through_endpoint)
    assert served.json() == as_view(from_table)
    assert (f"endpoint:{host.url}", served.headers["ETag"]) == (
        through_endpoint.source,
        through_endpoint.etag,
    )
    assert ("table:primary", False, False) == (
        from_table.source,
        from_table.stale,
        through_endpoint.stale,
    )


# --- the fallback chain ------------------------------------------------------------------------


def test_fallback_goes_endpoint_table_primary_secondary_cache_then_file(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Endpoint down → primary; primary stopped → secondary; both → cache, then file (stale)."""
    table_name = "FailoverState"
    grp = group()
    state = decide(incident(), grp, initial_state(grp, T0), T0, "1").new_state
    assert state is not None
    last_known_good = tmp_path / "active.json"
    with Azurite() as primary, Azurite() as secondary:
        written = TableClient.from_connection_string(primary.connection_string, table_name)
        TableStateStore(written).save(grp, None, state, [])
        # What geo-replication would copy: the primary's entity, as it stands.
        replica = TableClient.from_connection_string(secondary.connection_string, table_name)
        replica.create_table()
        replica.create_entity(written.get_entity("default", "active"))
        table = TableSource(
            primary_endpoint=table_endpoint(primary),
            secondary_endpoint=table_endpoint(secondary),
            credential=AzureNamedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY),
            table_name=table_name,
        )
        client = ActiveAccountClient(
            group="default",
            endpoints=[f"{dead_url()}/api"],
            table=table,
            last_known_good=last_known_good,
            ttl=10,
            max_staleness=60,
            clock=clock,
        )
        reads = [client.get()]
        primary.stop()
        clock.advance(11)
        reads.append(client.get())
        secondary.stop()
        clock.advance(11)
        reads.append(client.get())
        clock.advance(60)
        reads.append(client.get())
        restarted = ActiveAccountClient(
            group="default",
            endpoints=[f"{dead_url()}/api"],
            table=table,
            last_known_good=last_known_good,
        ).get()

    assert [
        ("table:primary", False),
        ("table:secondary", False),
        ("table:secondary", False),
        ("table:secondary", True),
    ] == [(r.source, r.stale) for r in reads]
    assert {("contoso-westus", 2)} == {(r.name, r.version) for r in reads}
    assert ("last-known-good", True) == (restarted.source, restarted.stale)
    assert as_view(reads[1]) == as_view(restarted)
    assert reads[1].fetched_at == restarted.fetched_at


def test_nothing_read_and_every_source_down_names_every_source(
    tmp_path: Path, endpoint: ActiveAccountServer
) -> None:
    """With no value ever read, the error lists each source tried and why it failed."""
    endpoint.serve(status=503)
    down = f"{dead_url()}/api"
    client = ActiveAccountClient(
        group="default",
        endpoints=[endpoint.url, down],
        table=dead_table(),
        last_known_good=tmp_path / "never-written.json",
    )

    with pytest.raises(ActiveAccountUnavailableError) as raised:
        client.get()

    failures = raised.value.failures
    assert [
        f"endpoint:{endpoint.url}",
        f"endpoint:{down}",
        "table:primary",
        "table:secondary",
        f"last-known-good ({tmp_path / 'never-written.json'})",
    ] == [label for label, _ in failures]
    assert "answered 503" == failures[0][1]
    assert "unreachable (Connection refused)" == failures[1][1]
    assert failures[2][1].startswith("unreachable (Connection refused")
    assert "no file yet" == failures[4][1]
    assert all(f"{label}: {why}" in str(raised.value) for label, why in failures)


def test_a_failing_endpoint_hands_over_to_the_next_one(endpoint: ActiveAccountServer) -> None:
    """5xx, 401, hangs past the timeout and malformed answers all move on to the next endpoint."""
    scripts: list[dict[str, Any]] = [
        {"status": 503},
        {"status": 401},
        {"raw": b"not json"},
        {"raw": b'{"group": "default", "account": {"name": 7}}'},
        {"gate": threading.Event()},
    ]
    reads = []
    with ActiveAccountServer(view("contoso-westus", 2)) as healthy:
        for script in scripts:
            endpoint.serve(**script)
            with ActiveAccountClient(
                group="default", endpoints=[endpoint.url, healthy.url], timeout=0.2
            ) as client:
                reads.append(client.get())

    assert [f"endpoint:{healthy.url}"] * len(scripts) == [r.source for r in reads]
    assert {("contoso-westus", 2)} == {(r.name, r.version) for r in reads}


def test_an_unknown_group_raises_at_once_without_falling_back(tmp_path: Path) -> None:
    """A 404 UnknownGroup is a configuration error: no other endpoint, table or file is tried."""
    with (
        ActiveAccountServer() as knows_default,
        ActiveAccountServer(view(group="tenant-b")) as knows_tenant_b,
    ):
        client = ActiveAccountClient(
            group="tenant-b", endpoints=[knows_default.url, knows_tenant_b.url]
        )

        with pytest.raises(UnknownGroupError) as raised:
            client.get()

        assert [] == knows_tenant_b.seen
    assert f"endpoint:{knows_default.url}: unknown group 'tenant-b'" in str(raised.value)


# --- caching, revalidation, staleness ----------------------------------------------------------


def test_within_the_ttl_get_makes_no_request(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """Every get() inside the TTL returns the cached object without touching the network."""
    client = ActiveAccountClient(group="default", endpoints=[endpoint.url], ttl=5, clock=clock)

    first = client.get()
    clock.advance(4.9)
    later = [client.get() for _ in range(100)]

    assert 1 == len(endpoint.seen)
    assert all(account is first for account in later)


def test_after_the_ttl_a_304_keeps_the_value_and_restarts_the_ttl(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """Revalidation sends If-None-Match with the cached ETag; a 304 keeps the value, fresh."""
    client = ActiveAccountClient(group="default", endpoints=[endpoint.url], ttl=5, clock=clock)

    first = client.get()
    clock.advance(5)
    second = client.get()
    clock.advance(4.9)
    third = client.get()

    assert [None, '"default.v1"'] == [s.headers.get("If-None-Match") for s in endpoint.seen]
    assert first == replace(second, fetched_at=first.fetched_at)
    assert (False, '"default.v1"') == (second.stale, second.etag)
    assert third is second


@pytest.mark.parametrize(
    ("ttl", "max_age", "after", "requests_made"),
    [
        pytest.param(10, 2, 2.5, 2, id="max-age shorter than ttl wins"),
        pytest.param(10, 2, 1.5, 1, id="within max-age"),
        pytest.param(1, 10, 1.5, 2, id="ttl shorter than max-age wins"),
        pytest.param(10, 0, 0, 2, id="max-age 0 revalidates every call"),
    ],
)
def test_the_ttl_is_the_smaller_of_ttl_and_max_age(
    clock: FakeClock, ttl: float, max_age: int, after: float, requests_made: int
) -> None:
    """The endpoint's Cache-Control max-age can shorten the client's TTL, never lengthen it."""
    with ActiveAccountServer(max_age=max_age) as server:
        client = ActiveAccountClient(group="default", endpoints=[server.url], ttl=ttl, clock=clock)

        client.get()
        clock.advance(after)
        client.get()

        assert requests_made == len(server.seen)


def test_a_cached_value_outlives_an_outage_and_turns_stale_with_one_warning(
    endpoint: ActiveAccountServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """In an outage the cache serves on, stale past max_staleness, with two warnings in all."""
    caplog.set_level(logging.INFO, logger="vi_failover_client")
    client = ActiveAccountClient(
        group="default", endpoints=[endpoint.url], ttl=10, max_staleness=60, clock=clock
    )
    first = client.get()
    endpoint.serve(status=503)

    reads = []
    for step in (11, 11, 50, 11):
        clock.advance(step)
        reads.append(client.get())
    endpoint.serve()
    clock.advance(11)
    reads.append(client.get())

    assert [False, False, True, True, False] == [r.stale for r in reads]
    assert {as_view(first)["version"]} == {r.version for r in reads}
    assert all(r.fetched_at == first.fetched_at for r in reads[:4])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert 2 == len(warnings)
    assert "every live source failed" in warnings[0]
    assert "is now stale" in warnings[1]
    assert 5 + 1 == len(endpoint.seen)  # failures back off for a TTL too: one try per step


def test_last_known_good_is_written_whole_after_each_live_read(
    endpoint: ActiveAccountServer, clock: FakeClock, tmp_path: Path
) -> None:
    """The file holds the latest value, as JSON, and no temporary file is left beside it."""
    path = tmp_path / "state" / "active.json"
    client = ActiveAccountClient(
        group="default", endpoints=[endpoint.url], last_known_good=path, clock=clock
    )
    client.get()
    endpoint.serve(view("contoso-westus", 2))
    clock.advance(11)

    latest = client.get()

    saved = json.loads(path.read_text())
    assert as_view(latest) == {k: saved[k] for k in as_view(latest)}
    assert (latest.source, latest.etag) == (saved["source"], saved["etag"])
    assert ["active.json"] == [p.name for p in path.parent.iterdir()]


def test_an_unwritable_last_known_good_file_does_not_fail_reads(
    endpoint: ActiveAccountServer,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A file that cannot be saved is warned about once; the read still succeeds."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    client = ActiveAccountClient(
        group="default",
        endpoints=[endpoint.url],
        last_known_good=blocker / "active.json",
        clock=clock,
    )

    reads = [client.get()]
    clock.advance(11)
    reads.append(client.get())

    assert ["contoso-eastus", "contoso-eastus"] == [r.name for r in reads]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 == len(warnings)
    assert "cannot save the last-known-good file" in warnings[0].getMessage()


# --- changes, sessions, threads ----------------------------------------------------------------


def test_on_change_fires_once_per_change_with_new_and_old(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """The first read and each later move or pin call on_change once, with (new, old)."""
    changes: list[tuple[str, int, int | None]] = []
    client = ActiveAccountClient(
        group="default",
        endpoints=[endpoint.url],
        clock=clock,
        on_change=lambda new, old: changes.append(
            (new.name, new.version, old.version if old else None)
        ),
    )

    client.get()
    clock.advance(11)
    client.get()  # a 304: no change
    endpoint.serve(view("contoso-westus", 2))
    clock.advance(11)
    client.get()
    client.get()
    endpoint.serve(view("contoso-westus", 3, pinned=True))
    clock.advance(11)
    client.get()

    assert [
        ("contoso-eastus", 1, None),
        ("contoso-westus", 2, 1),
        ("contoso-westus", 3, 2),
    ] == changes


def test_a_session_keeps_one_account_while_the_flag_moves(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """A job's session keeps its account after a move; a session opened later gets the new one."""
    client = ActiveAccountClient(group="default", endpoints=[endpoint.url], clock=clock)

    with client.session() as job:
        endpoint.serve(view("contoso-westus", 2))
        clock.advance(11)
        with client.session() as later_job:
            during = client.get()
        still = job

    assert ("contoso-eastus", 1) == (still.name, still.version)
    assert ("contoso-westus", "contoso-westus") == (during.name, later_job.name)


def test_sixteen_threads_after_the_ttl_share_one_fetch(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """Concurrent callers of an expired cache wait for a single refresh instead of each fetching."""
    client = ActiveAccountClient(group="default", endpoints=[endpoint.url], ttl=10, clock=clock)
    client.get()
    endpoint.serve(view("contoso-westus", 2), gate=(gate := threading.Event()))
    clock.advance(11)
    clock.forget_readers()
    results: list[ActiveAccount] = []
    threads = [threading.Thread(target=lambda: results.append(client.get())) for _ in range(16)]

    for thread in threads:
        thread.start()
    # Every thread is past the cache check, so all of them are in get() while the one fetch waits.
    all_waiting = clock.wait_for_readers(16)
    gate.set()
    for thread in threads:
        thread.join(timeout=10)

    assert all_waiting
    assert 2 == len(endpoint.seen)
    assert 16 == len(results)
    assert {("contoso-westus", 2)} == {(r.name, r.version) for r in results}


# --- secrets -----------------------------------------------------------------------------------


def test_no_key_or_sas_in_errors_or_logs(
    endpoint: ActiveAccountServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The function key and the table's SAS stay out of the error, its failures and every log."""
    caplog.set_level(logging.DEBUG)
    endpoint.serve(status=401)
    sas = f"sv=2025-01-05&ss=t&srt=o&sp=r&se=2030-01-01T00%3A00%3A00Z&sig={SAS_SIGNATURE}"
    client = ActiveAccountClient(
        group="default",
        endpoints=[endpoint.url, f"{dead_url()}/api"],
        function_key=FUNCTION_KEY,
        table=dead_table(credential=AzureSasCredential(sas)),
        last_known_good=tmp_path / "missing.json",
    )

    with pytest.raises(ActiveAccountUnavailableError) as raised:
        client.get()

    seen = endpoint.seen[0].headers
    assert FUNCTION_KEY == seen.get("x-functions-key")  # it was sent, so it could have leaked
    assert "answered 401 (check the function key)" == raised.value.failures[0][1]
    text = f"{raised.value} {raised.value.failures} {caplog.text}"
    assert FUNCTION_KEY not in text
    assert SAS_SIGNATURE not in text


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"table": dead_table()}, "group", id="table without group"),
        pytest.param({}, "at least one source", id="no source"),
        pytest.param({"endpoints": "http://x/api"}, "list of base URLs", id="one string"),
        pytest.param({"endpoints": ["http://x/api"], "ttl": -1}, "ttl", id="negative ttl"),
    ],
)
def test_a_bad_configuration_fails_at_construction(kwargs: dict[str, Any], message: str) -> None:
    """Mistakes in the client's arguments surface when it is built, naming the argument."""
    with pytest.raises((ValueError, TypeError)) as raised:
        ActiveAccountClient(**kwargs)

    assert message in str(raised.value)


def test_table_sources_from_a_connection_string_and_an_account_name() -> None:
    """Azurite's string, a public-cloud string and for_account give the endpoints the app uses."""
    azurite = (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:10002/{ACCOUNT_NAME};"
    )
    public = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=x.net"
    credential = AzureNamedKeyCredential("acct", "a2V5")

    local = TableSource.from_connection_string(azurite, table_name="T")
    cloud = TableSource.from_connection_string(public)
    both = TableSource.for_account("acct", credential)

    assert (f"http://127.0.0.1:10002/{ACCOUNT_NAME}", None, "T") == (
        local.primary_endpoint,
        local.secondary_endpoint,
        local.table_name,
    )
    assert ("https://acct.table.x.net", None) == (
        cloud.primary_endpoint,
        cloud.secondary_endpoint,
    )
    assert (
        "https://acct.table.core.windows.net",
        "https://acct-secondary.table.core.windows.net",
        "FailoverState",
    ) == (both.primary_endpoint, both.secondary_endpoint, both.table_name)
    assert ACCOUNT_KEY not in repr(local)
    with pytest.raises(ValueError, match="AccountKey") as raised:
        TableSource.from_connection_string(f"AccountName=acct;Secret={ACCOUNT_KEY}")
    assert ACCOUNT_KEY not in str(raised.value)


# --- Video Indexer helpers ---------------------------------------------------------------------


def westus(**changes: Any) -> ActiveAccount:
    """contoso-westus as the flag names it."""
    body = view("contoso-westus", 2)
    account = body["account"]
    assert isinstance(account, dict)
    base = ActiveAccount(
        group="default",
        name=account["name"],
        account_id=account["accountId"],
        location=account["location"],
        resource_id=account["resourceId"],
        role="secondary",
        version=2,
        since=T0,
        reason="test",
        pinned=False,
        source="table:primary",
        fetched_at=datetime.now(UTC),
        stale=False,
        etag=None,
    )
    return replace(base, **changes)


def test_a_token_from_arm_opens_the_active_accounts_data_plane() -> None:
    """ARM's token for the account, from access_token, opens its API at data_plane_url."""
    credential = StaticCredential(ARM_TOKEN)
    with AzureStandIn.from_config(str(DEMO_CONFIG), arm_token=ARM_TOKEN) as standin:
        account = westus(location="West US")
        token = access_token(account, credential, permission="Reader", arm_base_url=standin.url)
        videos = requests.get(
            f"{data_plane_url(account, standin.url)}/Videos?pageSize=1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        issued = standin.issued_tokens
        seen = standin.requests_seen

    assert [token] == issued
    assert 200 == videos.status_code
    assert [("https://management.azure.com/.default",)] == credential.scopes
    assert (
        "POST",
        f"{account.resource_id}/generateAccessToken?api-version=2025-04-01",
    ) == seen[0]
    assert f"https://api.videoindexer.ai/westus/Accounts/{account.account_id}" == data_plane_url(
        account
    )


def test_a_refused_token_names_arms_error_and_never_the_bearer() -> None:
    """A 403 from generateAccessToken is an AccessTokenError with ARM's code, without tokens."""
    with AzureStandIn.from_config(str(DEMO_CONFIG), arm_token=ARM_TOKEN) as standin:
        standin.set_behaviour("contoso-westus", "token-forbidden")

        with pytest.raises(AccessTokenError) as raised:
            access_token(westus(), StaticCredential(ARM_TOKEN), arm_base_url=standin.url)

    assert "answered 403: AuthorizationFailed" in str(raised.value)
    assert ARM_TOKEN not in str(raised.value)


def test_the_example_dry_run_prints_the_upload_for_the_active_account(
    endpoint: ActiveAccountServer, tmp_path: Path
) -> None:
    """examples/index_video.py --dry-run reads the flag and prints the VI upload it would send."""
    endpoint.serve(view("contoso-westus", 2))

    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--endpoint",
            endpoint.url,
            "--group",
            "default",
            "--video-url",
            "https://example.com/clip.mp4",
            "--name",
            "clip",
            "--dry-run",
            "--last-known-good",
            str(tmp_path / "active.json"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert 0 == done.returncode, done.stderr
    assert (
        f"POST https://api.videoindexer.ai/westus/Accounts/{westus().account_id}/Videos?name=clip&"
        "videoUrl=https%3A%2F%2Fexample.com%2Fclip.mp4" in done.stdout
    )
