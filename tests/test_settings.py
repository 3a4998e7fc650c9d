"""FAILOVER_CONFIG and app settings: valid input parses, every error names the bad key."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from shared.core.config import ConfigError, load_config, parse_config
from shared.settings import SettingsError, load_settings

RID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.VideoIndexer/accounts/"
VALID: dict[str, Any] = {
    "groups": [
        {
            "name": "default",
            "accounts": [
                {"name": "east", "accountId": "a1", "location": "East US", "resourceId": RID + "e"},
                {"name": "west", "accountId": "a2", "location": "westus", "resourceId": RID + "w"},
            ],
            "policy": {"failback": "auto"},
        }
    ],
    "policy": {"serviceNames": ["Video Indexer"], "minDwellMinutes": 5},
}


def variant(path: str, value: object) -> dict[str, Any]:
    """VALID with one dotted path (list indexes as numbers) set, or deleted when value is ..."""
    config = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node: Any = config
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return config


def test_valid_config_parses_with_overrides_and_normalised_locations() -> None:
    """Group policy overrides the top level key by key; locations become ARM names."""
    config = parse_config(VALID)

    (group,) = config.groups
    assert (["eastus", "westus"], "auto", 5, ("video indexer",)) == (
        [a.location for a in group.accounts],
        group.policy.failback,
        group.policy.min_dwell_minutes,
        group.policy.service_names,
    )


def test_accounts_may_give_only_a_resource_id() -> None:
    """accountId and location may be left out, to be resolved from ARM later."""
    raw = variant("groups.0.accounts.0", {"name": "east", "resourceId": RID + "e"})

    east = parse_config(raw).groups[0].accounts[0]

    assert ("", "", RID + "e") == (east.account_id, east.location, east.resource_id)


def test_probe_policy_options_parse() -> None:
    """confirmWithProbe, failoverOnProbeFailures and maxAutoMovesPerDay are read; 0 means off."""
    raw = variant(
        "policy",
        {"confirmWithProbe": 2, "failoverOnProbeFailures": 0, "maxAutoMovesPerDay": 3},
    )

    policy = parse_config(raw).groups[0].policy

    assert (2, 0, 3) == (
        policy.confirm_with_probe,
        policy.failover_on_probe_failures,
        policy.max_auto_moves_per_day,
    )


def test_config_may_be_a_file_path(tmp_path: Path) -> None:
    """FAILOVER_CONFIG may name a JSON file."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(VALID))

    assert parse_config(VALID) == load_config(str(path))


BAD_CONFIGS = {
    "no groups": (variant("groups", []), "groups"),
    "unknown top-level key": (variant("colour", "red"), "FAILOVER_CONFIG.colour"),
    "policy typo": (variant("policy.failbak", "auto"), "policy.failbak"),
    "group policy typo": (variant("groups.0.policy.minDwell", 1), "groups[0].policy.minDwell"),
    "one account": (variant("groups.0.accounts.1", ...), "groups[0].accounts"),
    "bad group name": (variant("groups.0.name", "no spaces"), "groups[0].name"),
    "group name with underscore first": (variant("groups.0.name", "_x"), "groups[0].name"),
    "location not a string": (
        variant("groups.0.accounts.0.location", 5),
        "groups[0].accounts[0].location",
    ),
    "blank accountId": (
        variant("groups.0.accounts.1.accountId", " "),
        "groups[0].accounts[1].accountId",
    ),
    "not a VI resource id": (
        variant("groups.0.accounts.0.resourceId", "/subscriptions/s/x"),
        "groups[0].accounts[0].resourceId",
    ),
    "duplicate account": (
        variant("groups.0.accounts.1.name", "east"),
        "duplicate account name",
    ),
    "failback mode": (variant("policy.failback", "sometimes"), "policy.failback"),
    "negative minutes": (variant("policy.minDwellMinutes", -1), "policy.minDwellMinutes"),
    "boolean minutes": (variant("policy.failbackStableMinutes", True), "failbackStableMinutes"),
    "includeGlobal not bool": (variant("policy.includeGlobal", "yes"), "policy.includeGlobal"),
    "unknown health state": (
        variant("policy.failoverOnResourceHealth", ["Sleepy"]),
        "policy.failoverOnResourceHealth",
    ),
    "empty serviceNames": (variant("policy.serviceNames", []), "policy.serviceNames"),
    "negative probe count": (variant("policy.confirmWithProbe", -1), "policy.confirmWithProbe"),
    "zero move cap": (variant("policy.maxAutoMovesPerDay", 0), "policy.maxAutoMovesPerDay"),
}


@pytest.mark.parametrize(("raw", "names"), BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_invalid_config_names_the_bad_key(raw: object, names: str) -> None:
    """Each invalid configuration fails with a message naming where the problem is."""
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)

    assert names in str(caught.value)


@pytest.mark.parametrize(
    ("text", "names"),
    [("", "empty"), ("{not json", "not valid JSON"), ("/no/such/file.json", "cannot read")],
    ids=["empty", "bad-json", "missing-file"],
)
def test_unreadable_config_says_why(text: str, names: str) -> None:
    """Empty text, bad JSON and a missing file each get their own message."""
    with pytest.raises(ConfigError, match=names):
        load_config(text)


BASE_ENV = {"FAILOVER_CONFIG": json.dumps(VALID), "FailoverStorage": "UseDevelopmentStorage=true"}


def test_settings_defaults() -> None:
    """With only the required settings, the documented defaults apply."""
    settings = load_settings(BASE_ENV)

    assert ("FailoverState", 10, 3.0, 10) == (
        settings.table_name,
        settings.active_account_max_age,
        settings.storage_timeout_seconds,
        settings.retry_after_seconds,
    )


def test_storage_falls_back_to_azurewebjobsstorage() -> None:
    """Without FailoverStorage, AzureWebJobsStorage holds the state."""
    env = {"FAILOVER_CONFIG": BASE_ENV["FAILOVER_CONFIG"], "AzureWebJobsStorage": "A=b"}

    assert "A=b" == load_settings(env).storage.connection_string


def test_table_service_uri_with_client_id() -> None:
    """The identity-based form keeps the endpoint and the user-assigned client id."""
    env = {
        "FAILOVER_CONFIG": BASE_ENV["FAILOVER_CONFIG"],
        "FailoverStorage__tableServiceUri": "https://acct.table.core.windows.net/",
        "FailoverStorage__queueServiceUri": "https://acct.queue.core.windows.net/",
        "FailoverStorage__clientId": "cid",
    }

    storage = load_settings(env).storage

    assert (
        "https://acct.table.core.windows.net",
        "https://acct.queue.core.windows.net",
        "cid",
        None,
    ) == (
        storage.table_service_uri,
        storage.queue_service_uri,
        storage.client_id,
        storage.connection_string,
    )


def test_fanout_settings_and_their_defaults() -> None:
    """FANOUT_QUEUE and FANOUT_INLINE_GROUPS: defaults, and values as given."""
    default = load_settings(BASE_ENV)
    given = load_settings(
        {**BASE_ENV, "FANOUT_QUEUE": "tenant-moves-2", "FANOUT_INLINE_GROUPS": "0"}
    )

    assert ("failover-fanout", 100) == (default.fanout_queue, default.fanout_inline_groups)
    assert ("tenant-moves-2", 0) == (given.fanout_queue, given.fanout_inline_groups)


def test_a_bad_webhook_url_is_not_echoed() -> None:
    """The error for a bad NOTIFY_WEBHOOK_URL does not repeat the URL: it may hold a secret."""
    secret = "T000/B000/XXXXsecret"

    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE_ENV, "NOTIFY_WEBHOOK_URL": f"hooks.example.invalid/{secret}"})

    assert secret not in str(caught.value)


def test_describe_never_shows_the_account_key() -> None:
    """The storage description used in logs leaves out the key."""
    secret = "c2VjcmV0a2V5"
    env = {**BASE_ENV, "FailoverStorage": f"AccountName=acct;AccountKey={secret};"}

    assert secret not in load_settings(env).storage.describe()


BAD_SETTINGS = {
    "FAILOVER_CONFIG unset": ({"FAILOVER_CONFIG": ""}, "FAILOVER_CONFIG"),
    "no storage at all": ({"FailoverStorage": ""}, "FailoverStorage"),
    "both storage forms": (
        {"FailoverStorage__tableServiceUri": "https://a.table.core.windows.net"},
        "both set",
    ),
    "storage uri not https": (
        {"FailoverStorage": "", "FailoverStorage__tableServiceUri": "acct"},
        "FailoverStorage__tableServiceUri",
    ),
    "table uri without queue uri": (
        {"FailoverStorage": "", "FailoverStorage__tableServiceUri": "https://a.table.x"},
        "FailoverStorage__queueServiceUri: not set",
    ),
    "queue uri not https": (
        {
            "FailoverStorage": "",
            "FailoverStorage__tableServiceUri": "https://a.table.x",
            "FailoverStorage__queueServiceUri": "a.queue.x",
        },
        "FailoverStorage__queueServiceUri: not an http.s. URL with a host name",
    ),
    "storage over http to another host": (
        {
            "FailoverStorage": "",
            "FailoverStorage__tableServiceUri": "http://a.table.core.windows.net",
            "FailoverStorage__queueServiceUri": "https://a.queue.core.windows.net",
        },
        "FailoverStorage__tableServiceUri: http to a.table.core.windows.net would send a token",
    ),
    "ARM over http to another host": (
        {"ARM_BASE_URL": "http://management.example.com"},
        "ARM_BASE_URL: http to management.example.com would send a token or key in clear",
    ),
    "VI over http to another host": (
        {"VI_BASE_URL": "http://api.videoindexer.example"},
        "VI_BASE_URL: http to api.videoindexer.example would send",
    ),
    "webhook over http to another host": (
        {"NOTIFY_WEBHOOK_URL": "http://hooks.example.com/T000/B000/XXXX"},
        "NOTIFY_WEBHOOK_URL: http to hooks.example.com would send",
    ),
    "queue uri alone": (
        {"FailoverStorage__queueServiceUri": "https://a.queue.x"},
        "FailoverStorage__queueServiceUri is set without",
    ),
    "table endpoint without queue endpoint": (
        {"FailoverStorage": "AccountName=a;AccountKey=k;TableEndpoint=http://127.0.0.1:1/a;"},
        "QueueEndpoint",
    ),
    "queue name upper case": ({"FANOUT_QUEUE": "Moves"}, "FANOUT_QUEUE"),
    "queue name double hyphen": ({"FANOUT_QUEUE": "a--b"}, "FANOUT_QUEUE"),
    "queue name too long": ({"FANOUT_QUEUE": "q" * 57}, "FANOUT_QUEUE"),
    "inline groups negative": ({"FANOUT_INLINE_GROUPS": "-1"}, "FANOUT_INLINE_GROUPS"),
    "table name": ({"FAILOVER_TABLE": "bad-name"}, "FAILOVER_TABLE"),
    "max age not a number": ({"ACTIVE_ACCOUNT_MAX_AGE": "ten"}, "ACTIVE_ACCOUNT_MAX_AGE"),
    "negative max age": ({"ACTIVE_ACCOUNT_MAX_AGE": "-1"}, "ACTIVE_ACCOUNT_MAX_AGE"),
    "timeout too long": ({"STORAGE_TIMEOUT_SECONDS": "600"}, "STORAGE_TIMEOUT_SECONDS"),
    "retry-after zero": ({"RETRY_AFTER_SECONDS": "0"}, "RETRY_AFTER_SECONDS"),
    "ARM URL without scheme": ({"ARM_BASE_URL": "management.azure.com"}, "ARM_BASE_URL"),
    "webhook without host": ({"NOTIFY_WEBHOOK_URL": "https:///hooks/x"}, "NOTIFY_WEBHOOK_URL"),
}


@pytest.mark.parametrize(("changes", "names"), BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_invalid_settings_name_the_key(changes: dict[str, str], names: str) -> None:
    """Each bad app setting fails loudly, naming the setting."""
    with pytest.raises(SettingsError, match=names):
        load_settings({**BASE_ENV, **changes})
