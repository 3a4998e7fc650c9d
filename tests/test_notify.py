"""Webhook notifications: which decisions page, the JSON sent, and delivery over real HTTP."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta, timezone
from itertools import chain, repeat

import pytest

from shared.adapters.notify import WebhookNotifier
from shared.app.ports import Notifier
from shared.core.notification import (
    Notification,
    NotifyResult,
    NullNotifier,
    notification_for,
    payload,
    text,
)
from shared.core.state import Action, AuditRecord, Decision, GroupState, ManualAction
from tests.receiver import Receiver, Reply

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SECRET = "s3cr3t-SIG"
REASON = "contoso-eastus is impacted by VT0X-1AB; moved to contoso-westus"

FAILOVER = Notification(
    group="default",
    action="failed_over",
    from_account="contoso-eastus",
    to_account="contoso-westus",
    reason=REASON,
    time=T0,
    actor="alert",
    version=2,
    tracking_id="VT0X-1AB",
)


class Sleeps:
    """An injected sleep that records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    """A fresh recording sleep."""
    return Sleeps()


@pytest.fixture
def caplog_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog capturing everything the notifier logs, retries included."""
    caplog.set_level(logging.DEBUG, logger="shared.adapters.notify")
    return caplog


@pytest.fixture
def refused_url() -> str:
    """A URL on a local port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def decision(action: Action | ManualAction) -> Decision:
    """A decision of this action as the core would shape it, with one audit line."""
    state = GroupState(group="default", active="contoso-westus", version=2, since=T0, reason="r")
    record = AuditRecord(
        group="default",
        time=T0,
        action=action,
        from_account="contoso-eastus",
        to_account="contoso-westus",
        reason=REASON,
        actor="alert",
        record_id=f"d1.{action}",
        version=2,
        tracking_id="VT0X-1AB",
    )
    return Decision("default", action, "contoso-eastus", "contoso-westus", REASON, state, (record,))


@pytest.mark.parametrize(
    ("action", "notifies"),
    [
        ("failed_over", True),
        ("failed_back", True),
        ("blocked", True),
        ("moved", True),
        ("pinned", True),
        ("unpinned", True),
        ("recorded", False),
        ("duplicate", False),
        ("ignored", False),
        ("suppressed", False),
        ("unchanged", False),
    ],
    ids=lambda v: v if isinstance(v, str) else ("pages" if v else "silent"),
)
def test_only_moves_blocks_and_pins_are_worth_a_notification(
    action: Action | ManualAction, notifies: bool
) -> None:
    """Moves, failbacks, blocks, pins and unpins notify; records, duplicates and the rest do not."""
    expected = (
        Notification(
            group="default",
            action=action,
            from_account="contoso-eastus",
            to_account="contoso-westus",
            reason=REASON,
            time=T0,
            actor="alert",
            version=2,
            tracking_id="VT0X-1AB",
        )
        if notifies
        else None
    )

    assert expected == notification_for(decision(action), T0)


def test_a_decision_without_state_or_audit_notifies_version_0_and_no_actor() -> None:
    """Version falls back to 0, actor and tracking id to empty, when the decision has none."""
    bare = Decision("default", "blocked", "contoso-eastus", "contoso-eastus", "no target", None)

    notification = notification_for(bare, T0)

    assert (0, "", "") == (
        (notification.version, notification.actor, notification.tracking_id)
        if notification
        else None
    )


@pytest.mark.parametrize(
    "action", ["failed_over", "failed_back", "blocked", "moved", "pinned", "unpinned", "new"]
)
def test_the_top_level_text_is_a_non_empty_string_for_slack_and_teams(action: str) -> None:
    """Slack incoming webhooks and Teams render a top-level `text`: it is always a non-empty str."""
    body = payload(Notification("default", action, "a", "b", "why", T0, "ops", 3))

    text = body["text"]

    assert (True, True) == (isinstance(text, str), bool(str(text).strip()))


def test_the_time_is_sent_as_iso_8601_utc() -> None:
    """A time in any zone is sent converted to UTC."""
    local = T0.astimezone(timezone(timedelta(hours=1)))
    notification = Notification("default", "moved", "a", "b", "why", local, "ops", 3)

    assert "2026-11-20T10:00:00+00:00" == payload(notification)["time"]


def test_a_failover_is_posted_as_json_with_text_and_fields(sleeps: Sleeps) -> None:
    """One POST with a JSON body: structured fields, and text naming from, to and the reason."""
    with Receiver(Reply(200)) as receiver:
        notifier = WebhookNotifier(receiver.url + "/hook?sig=abc", sleep=sleeps)

        result = notifier.send(FAILOVER)

    (request,) = receiver.requests
    assert isinstance(request.body, dict)
    body = dict(request.body)
    text = str(body.pop("text"))
    assert NotifyResult(ok=True, attempts=1, detail="HTTP 200") == result
    assert ("/hook?sig=abc", "application/json") == (
        request.path,
        request.headers["Content-Type"],
    )
    assert {
        "group": "default",
        "action": "failed_over",
        "from": "contoso-eastus",
        "to": "contoso-westus",
        "reason": REASON,
        "time": "2026-11-20T10:00:00+00:00",
        "actor": "alert",
        "version": 2,
        "trackingId": "VT0X-1AB",
    } == body
    assert (
        "vi-failover: group default failed over contoso-eastus → contoso-westus: " + REASON
        == (text.splitlines()[0])
    )
    assert [] == sleeps.delays


@pytest.mark.parametrize(
    "first",
    [
        Reply(500),
        Reply(502),
        Reply(503),
        Reply(504),
        Reply(408),
        Reply(429),
        Reply(drop=True),
    ],
    ids=["500", "502", "503", "504", "408", "429", "dropped connection"],
)
def test_a_retryable_failure_then_200_succeeds_on_the_second_attempt(
    first: Reply, sleeps: Sleeps
) -> None:
    """5xx, 408, 429 and a dropped connection are retried after the backoff; then 200 wins."""
    with Receiver(first, Reply(200)) as receiver:
        notifier = WebhookNotifier(receiver.url + "/hook", backoff=0.5, sleep=sleeps)

        result = notifier.send(FAILOVER)

    assert NotifyResult(ok=True, attempts=2, detail="HTTP 200") == result
    assert [0.5] == sleeps.delays
    first_body, second_body = (r.body for r in receiver.requests)
    assert first_body == second_body


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 302])
def test_other_4xx_and_redirects_are_not_retried(status: int, sleeps: Sleeps) -> None:
    """A client error or a redirect will not heal on retry: one try, a failed result."""
    with Receiver(Reply(status), Reply(200)) as receiver:
        notifier = WebhookNotifier(receiver.url + "/hook", attempts=3, sleep=sleeps)

        result = notifier.send(FAILOVER)

    assert NotifyResult(ok=False, attempts=1, detail=f"HTTP {status} (not retried)") == result
    assert (1, []) == (len(receiver.requests), sleeps.delays)


def test_an_endpoint_that_always_answers_503_fails_after_every_attempt(sleeps: Sleeps) -> None:
    """Always 503: `attempts` tries, a failed result naming 503, sleeps within the backoff."""
    with Receiver(Reply(503)) as receiver:
        notifier = WebhookNotifier(receiver.url + "/hook", attempts=3, backoff=0.6, sleep=sleeps)

        result = notifier.send(FAILOVER)

    assert NotifyResult(ok=False, attempts=3, detail="HTTP 503") == result
    assert 3 == len(receiver.requests)
    assert [0.3, 0.3] == pytest.approx(sleeps.delays)


@pytest.mark.parametrize(
    ("retry_after", "backoff", "expected_delays"),
    [("1", 2.0, [1.0]), ("120", 0.5, [0.5]), ("0", 0.5, [0.0]), ("soon", 0.5, [0.5])],
    ids=["honoured", "capped at the backoff", "zero", "unparseable: own backoff"],
)
def test_retry_after_on_429_is_honoured_within_the_backoff_budget(
    retry_after: str, backoff: float, expected_delays: list[float], sleeps: Sleeps
) -> None:
    """429 with Retry-After: wait what it asks, never more than the backoff budget, then retry."""
    with Receiver(Reply(429, retry_after=retry_after), Reply(200)) as receiver:
        notifier = WebhookNotifier(receiver.url + "/hook", backoff=backoff, sleep=sleeps)

        result = notifier.send(FAILOVER)

    assert NotifyResult(ok=True, attempts=2, detail="HTTP 200") == result
    assert expected_delays == sleeps.delays


def test_a_receiver_that_hangs_is_given_up_on_within_the_budget(sleeps: Sleeps) -> None:
    """A receiver that never answers costs about timeout * attempts, then a failed result."""
    with Receiver(Reply(hang=True)) as receiver:
        notifier = WebhookNotifier(receiver.url + "/hook", timeout=0.3, attempts=2, sleep=sleeps)
        started = time.monotonic()

        result = notifier.send(FAILOVER)

        elapsed = time.monotonic() - started
    assert NotifyResult(ok=False, attempts=2, detail="ReadTimeout") == result
    assert 2 == len(receiver.requests)
    assert elapsed < 0.3 * 2 + 0.3


def test_the_budget_stops_retries_once_it_is_spent(sleeps: Sleeps) -> None:
    """No try starts after the budget, even with attempts left."""
    # The clock reads 0 at the start and for the first try, then 100 s have passed.
    ticks = chain([0.0, 0.0], repeat(100.0))
    with Receiver(Reply(503)) as receiver:
        notifier = WebhookNotifier(
            receiver.url + "/hook", attempts=5, sleep=sleeps, clock=lambda: next(ticks)
        )

        result = notifier.send(FAILOVER)

    assert NotifyResult(False, 1, "HTTP 503; time budget spent") == result
    assert 1 == len(receiver.requests)


def test_nothing_listening_is_a_failed_result_not_an_exception(
    refused_url: str, sleeps: Sleeps
) -> None:
    """Connection refused on every try: a failed result naming ConnectionError, no exception."""
    notifier = WebhookNotifier(refused_url, attempts=2, sleep=sleeps)

    result = notifier.send(FAILOVER)

    assert NotifyResult(ok=False, attempts=2, detail="ConnectionError") == result


@pytest.mark.parametrize(
    "script",
    [[Reply(200)], [Reply(503)], [Reply(400)], [Reply(hang=True)], [Reply(drop=True)], []],
    ids=["200", "503", "400", "hang", "dropped connection", "connection refused"],
)
def test_the_webhook_secret_never_reaches_the_detail_or_the_logs(
    script: list[Reply], refused_url: str, caplog_debug: pytest.LogCaptureFixture
) -> None:
    """Secrets in the path (Slack) and query (Teams) stay out of results and logs alike."""
    secret_path = f"/workflows/{SECRET}-path/run?api-version=1&sig={SECRET}-query"
    with Receiver(*script) as receiver:
        base = receiver.url if script else refused_url.removesuffix("/hook")
        notifier = WebhookNotifier(base + secret_path, timeout=0.3, sleep=Sleeps())

        result = notifier.send(FAILOVER)

    assert [] == [
        text for text in (result.detail, caplog_debug.text, repr(notifier)) if SECRET in text
    ]
    assert "127.0.0.1" in caplog_debug.text


@pytest.mark.parametrize(
    "url", ["", "hooks.slack.com/services/x", "ftp://host/x", "https:///nohost"]
)
def test_a_webhook_url_must_be_http_with_a_host(url: str) -> None:
    """A URL the notifier could never post to is refused when the notifier is built."""
    with pytest.raises(ValueError, match=r"https://host/path"):
        WebhookNotifier(url)


def test_with_notifications_off_nothing_is_sent_and_that_is_ok() -> None:
    """The null notifier satisfies the protocol and reports that notifications are off."""
    notifier: Notifier = NullNotifier()

    assert NotifyResult(ok=True, attempts=0, detail="notifications off") == notifier.send(FAILOVER)


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("East US <!channel> look", "East US &lt;!channel&gt; look"),
        ("see <https://evil.example|the fix>", "see &lt;https://evil.example\\|the fix&gt;"),
        ("[click](https://evil.example)", "\\[click\\]\\(https://evil.example\\)"),
        ("line one\nline two", "line one line two"),
    ],
    ids=["slack mention", "slack link", "markdown link", "newline"],
)
def test_alert_and_operator_text_is_escaped_in_the_message(reason: str, shown: str) -> None:
    """Text that came from an alert or an operator cannot mention, link or format."""
    n = Notification("g", "moved", "a", "b", reason, T0, "oncall <@U123>", 2)

    message = text(n)

    assert shown in message
    assert "by oncall &lt;@U123&gt;" in message


def test_a_long_reason_is_cut_in_the_message_and_the_payload() -> None:
    """A reason of 10,000 characters is cut to 1,000 in the text and in the JSON."""
    n = Notification("g", "moved", "a", "b", "r" * 10_000, T0, "oncall", 2)

    body = payload(n)

    assert len(str(body["reason"])) == 1_000
    assert "r" * 999 + "…" in str(body["text"])
