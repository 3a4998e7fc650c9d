"""No secret ever appears in logs or responses: a full run with every kind of secret set,
capturing all of the host's output and every response body."""

from __future__ import annotations

import json
from typing import Any

import requests

from devhost.azurite import Azurite, free_port
from tests import alertfactory as af
from tests import apicontract as api
from tests.hosting import HostProcess
from tests.receiver import Receiver, Reply

FUNCTION_KEY = "fk-3c1b9d0e77a24f5e9b51"
MASTER_KEY = "mk-8a7f2e61c0d94b3aa1f0"
SHARED_SECRET = "ss-5d2c8e1f94b047a6bc3e"
ARM_TOKEN = "arm-4f0a9c3e2b7d41e8a6c5"
WEBHOOK_SECRET = "wh-7e3b1a9d5c2f48e0b6d4"


def post(url: str, **kwargs: Any) -> requests.Response:
    """POST with a timeout."""
    return api.post(url, timeout=30, **kwargs)


def get(url: str, **kwargs: Any) -> requests.Response:
    """GET with a timeout."""
    return api.get(url, timeout=30, **kwargs)


def test_a_full_run_leaks_no_secret(azurite: Azurite, table_name: str) -> None:
    """Keys, tokens, the shared secret, the storage key and the webhook secret stay out of
    every log line and every response, through successes, rejections and failures."""
    account_key = azurite.connection_string.split("AccountKey=")[1].split(";")[0]
    standin = free_port()
    responses: list[str] = []
    with Receiver(Reply(500), Reply(500), Reply(200)) as hook:
        env = {
            "LOCAL_FUNCTION_KEY": FUNCTION_KEY,
            "LOCAL_MASTER_KEY": MASTER_KEY,
            "ALERT_SHARED_SECRET": SHARED_SECRET,
            "ARM_STATIC_TOKEN": ARM_TOKEN,
            "NOTIFY_WEBHOOK_URL": f"{hook.url}/hooks/{WEBHOOK_SECRET}?sig={WEBHOOK_SECRET}",
            "STANDIN_PORT": str(standin),
            "OPERATOR_AUTH": "",  # no operator sign-in: only break-glass moves
        }
        with HostProcess(azurite.connection_string, table_name, **env) as host:
            base = host.url
            admin = base.removesuffix("/api") + "/admin/functions/readiness"
            alert = af.to_body(af.service_health())
            key = {"x-functions-key": FUNCTION_KEY}
            calls = [
                post(f"{base}/alerts?token={SHARED_SECRET}", data=alert, headers=key),
                post(f"{base}/alerts?token=wrong", data=alert, headers=key),
                post(f"{base}/alerts?token={SHARED_SECRET}", data=b"not json", headers=key),
                post(f"{base}/alerts?code={FUNCTION_KEY}&token={SHARED_SECRET}", data=alert),
                post(f"{base}/alerts?code=wrong", data=alert),
                get(f"{base}/active-account?code={FUNCTION_KEY}"),
                get(f"{base}/status", headers=key),
                get(f"{base}/history", headers=key),
                get(f"{base}/health"),
                post(
                    f"{base}/failover/break-glass",
                    json={"to": "contoso-eastus", "reason": "drill", "force": True},
                    headers={"x-functions-key": MASTER_KEY},
                ),
                post(f"{base}/failover", json={"to": "x", "reason": "y"}, headers=key),
                post(admin, json={"input": ""}, headers={"x-functions-key": MASTER_KEY}),
            ]
            responses = [f"{r.status_code} {dict(r.headers)} {r.text}" for r in calls]
            get(f"{base}/status", headers=key)  # lets the timer run and log
            output = host.output
        posted = [json.dumps(r.body) for r in hook.requests]

    secrets = [FUNCTION_KEY, MASTER_KEY, SHARED_SECRET, ARM_TOKEN, WEBHOOK_SECRET, account_key]
    statuses = [int(r.split()[0]) for r in responses]
    assert [200, 401, 400, 200, 401, 200, 200, 200, 200, 200, 401, 202] == statuses
    assert len(output) > 1000, "the run should have logged its decisions"
    for secret in secrets:
        assert secret not in output
        assert all(secret not in r for r in responses)
        assert all(secret not in p for p in posted)
