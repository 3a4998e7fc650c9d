"""The Bicep in infra/: it parses offline, and it agrees with the app, the spec and its README.

No Bicep CLI can be installed here, so pycep-parser reads the templates into JSON-like trees and
these tests make structural assertions on them. Identifiers and string literals look alike in
those trees (`location` and `'location'` both become "location"); the assertions are written
so that this cannot make them pass by accident.
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
from lark.exceptions import LarkError
from pycep import BicepParser

from shared.http.operators import OPERATOR_ROLE
from shared.settings import READINESS_SCHEDULE_DEFAULT, SETTING_NAMES, load_settings
from tests.bicep_eval import BicepFailureError, Evaluator

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
PARAMETERS_FILE = INFRA / "main.parameters.json"
INFRA_README = INFRA / "README.md"
OPERATOR_APP_ROLES = INFRA / "operator-app-roles.json"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))

# shared/spec/azure.md, "Infra API versions and ids" (Log Analytics: its current stable version).
APPROVED_API_VERSIONS = {
    "Microsoft.Storage/storageAccounts": {"2025-01-01"},
    "Microsoft.Storage/storageAccounts/blobServices": {"2025-01-01"},
    "Microsoft.Storage/storageAccounts/blobServices/containers": {"2025-01-01"},
    "Microsoft.Storage/storageAccounts/tableServices": {"2025-01-01"},
    "Microsoft.Storage/storageAccounts/tableServices/tables": {"2025-01-01"},
    "Microsoft.Storage/storageAccounts/queueServices": {"2025-01-01"},
    "Microsoft.Storage/storageAccounts/queueServices/queues": {"2025-01-01"},
    "Microsoft.Insights/actionGroups": {"2023-01-01"},
    "Microsoft.Insights/activityLogAlerts": {"2020-10-01"},
    "Microsoft.Insights/components": {"2020-02-02"},
    "Microsoft.Web/serverfarms": {"2024-04-01"},
    "Microsoft.Web/sites": {"2024-04-01"},
    "Microsoft.ManagedIdentity/userAssignedIdentities": {"2023-01-31"},
    "Microsoft.Authorization/roleAssignments": {"2022-04-01"},
    "Microsoft.VideoIndexer/accounts": {"2025-04-01"},
    "Microsoft.OperationalInsights/workspaces": {"2023-09-01"},
    # Microsoft.Web's template reference lists this child of sites in the sites' API versions.
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies": {"2024-04-01"},
    # Microsoft.Authorization's template reference (roleDefinitions), the roleAssignments' version.
    "Microsoft.Authorization/roleDefinitions": {"2022-04-01"},
    # Children of sites in Microsoft.Web's template reference, at the sites' version.
    "Microsoft.Web/sites/functions": {"2024-04-01"},
    "Microsoft.Web/sites/functions/keys": {"2024-04-01"},
}
# The built-in roles' real ids (spec/azure.md; Storage Queue Data Contributor from Azure's
# built-in roles list); every one of them is granted somewhere.
ROLE_IDS = {
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "76199698-9eea-4c19-bc75-cec21354c6b6": "Storage Table Data Reader",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}
# Roles that can change or delete what they reach (Azure's built-in roles list): granted nowhere.
BROAD_ROLE_IDS = {
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
}
# vi-account-access.bicep's parameter that names the custom role from vi-role.bicep.
CUSTOM_ROLE_PARAM = "roleDefinitionName"
VI_ROLE_ACTIONS = [
    "Microsoft.VideoIndexer/accounts/read",
    "Microsoft.VideoIndexer/accounts/generateAccessToken/action",
]
# Settings the app reads that the deployment deliberately leaves unset, and why.
NOT_DEPLOYED = {
    "ARM_STATIC_TOKEN": "development only: a fixed bearer token for the local ARM stand-in",
    "FailoverStorage": "a connection string (Azurite, tests); Azure uses the identity form",
    "AzureWebJobsStorage": "a connection string; Azure uses the identity-based form below",
}
# Settings the Functions platform (or, for AZURE_CLIENT_ID, azure-identity) reads, not the app.
PLATFORM_SETTINGS = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    # The Functions host's identity-based connection for the fan-out queue trigger.
    "FailoverStorage__credential",
}
SERVICE_NAMES = ["Video Indexer", "Azure Video Indexer", "Azure AI Video Indexer"]
MINIMAL_ENV = {
    "FAILOVER_CONFIG": (ROOT / "devhost" / "demo-config.json").read_text(),
    "FailoverStorage": "UseDevelopmentStorage=true",
}


class BicepSyntaxError(Exception):
    """A .bicep file does not parse; the message names the file and the parser's complaint."""


@cache
def _parser() -> BicepParser:
    return BicepParser()


@cache
def bicep(path: Path) -> dict[str, Any]:
    """The parsed template, as pycep-parser's JSON-like tree."""
    try:
        tree = _parser().parse(file_path=path)
    except (LarkError, ValueError) as exc:
        raise BicepSyntaxError(f"{path.relative_to(ROOT)}: {exc}") from exc
    return cast("dict[str, Any]", tree)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in a tree, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def body(element: dict[str, Any]) -> dict[str, Any]:
    """A resource's or module's body, under its loop or condition if it has one."""
    config = cast("dict[str, Any]", element["config"])
    while "config" in config and ("loop_type" in config or "condition" in config):
        config = config["config"]
    return config


def dotted(node: Any) -> str:
    """`a.b.c` for a chain of property accessors; identifiers as they are."""
    if isinstance(node, str):
        return node
    operator = node["operator"]
    assert "property_accessor" == operator["type"]
    operands = operator["operands"]
    return f"{dotted(operands['operand_1'])}.{dotted(operands['operand_2'])}"


def function_args(node: Any, name: str) -> list[Any]:
    """The arguments of a call to the function pycep names `name`, in order."""
    assert isinstance(node, dict), f"expected a call to {name}, got {node!r}"
    assert "function" in node, f"expected a call to {name}, got {node!r}"
    assert name == node["function"]["type"]
    return list(node["function"]["parameters"].values())


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """A variable's value in place of its name."""
    variables = doc.get("variables", {})
    while isinstance(node, str) and node in variables:
        node = variables[node]["value"]
    return node


def object_entries(node: Any) -> Iterator[tuple[str, Any]]:
    """The entries of the literal objects in `union(...)` and `cond ? {...} : {...}`."""
    if not isinstance(node, dict):
        return
    if "function" in node:
        for arg in node["function"]["parameters"].values():
            yield from object_entries(arg)
    elif "operator" in node:
        operands = node["operator"]["operands"]
        yield from object_entries(operands.get("true_value"))
        yield from object_entries(operands.get("false_value"))
    else:
        yield from node.items()


def resources() -> Iterator[tuple[Path, dict[str, Any], str, dict[str, Any]]]:
    """(file, its tree, symbolic name, resource) for every resource in every file."""
    for path in BICEP_FILES:
        doc = bicep(path)
        for name, resource in doc.get("resources", {}).items():
            yield path, doc, name, resource


def resources_of(type_: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(file tree, body) of every resource of one type that a template deploys (not `existing`)."""
    return [
        (doc, body(res))
        for _, doc, _, res in resources()
        if type_ == res["type"] and not res["existing"]
    ]


def leaves(condition: Any) -> dict[str, dict[str, Any]]:
    """An alert rule condition's leaf conditions by field (anyOf and loops included)."""
    found: dict[str, dict[str, Any]] = {}
    for node in walk(condition):
        if "field" in node:
            found.setdefault(node["field"], node)
    return found


def leaf_values(condition: Any, field: str) -> set[str]:
    """Every `equals` value the condition compares `field` with."""
    return {node["equals"] for node in walk(condition) if field == node.get("field")}


def alert_rules(category: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The activity log alert rules whose condition is on `category`."""
    return [
        (doc, res)
        for doc, res in resources_of("Microsoft.Insights/activityLogAlerts")
        if category == leaves(res["properties"]["condition"])["category"]["equals"]
    ]


def alert_rule(category: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one activity log alert rule whose condition is on `category`."""
    (rule,) = alert_rules(category)
    return rule


def any_of_fields(condition: Any) -> list[set[str]]:
    """For each anyOf in a condition, the fields its members compare."""
    return [
        {leaf["field"] for leaf in walk(node["anyOf"]) if "field" in leaf}
        for node in walk(condition)
        if "anyOf" in node
    ]


def main_params() -> dict[str, dict[str, Any]]:
    """main.bicep's parameters."""
    return cast("dict[str, dict[str, Any]]", bicep(MAIN)["parameters"])


def main_module(name: str) -> dict[str, Any]:
    """The body of one module call in main.bicep."""
    return body(bicep(MAIN)["modules"][name])


def app_settings() -> dict[str, Any]:
    """The app settings main.bicep deploys: name to value expression."""
    return dict(object_entries(resolve(bicep(MAIN), "appSettings")))


def account_id(subscription: str, group: str, name: str) -> str:
    """A Video Indexer account's full resource id."""
    return (
        f"/subscriptions/{subscription}/resourceGroups/{group}"
        f"/providers/Microsoft.VideoIndexer/accounts/{name}"
    )


SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"


def main_value(variable: str, **params: Any) -> Any:
    """A main.bicep variable's value for the given parameters (the others at their defaults)."""
    defaults = {"videoIndexerAccountPrefix": "vi-test", "functionAppName": "vi-failover-test"}
    return Evaluator(bicep(MAIN), defaults | params, subscription_id=SUB_A).variable(variable)


@pytest.mark.parametrize("path", BICEP_FILES, ids=[str(p.relative_to(INFRA)) for p in BICEP_FILES])
def test_every_bicep_file_parses(path: Path) -> None:
    """Each template parses; a failure names the file and the parser's error."""
    try:
        doc = bicep(path)
    except BicepSyntaxError as exc:
        pytest.fail(str(exc), pytrace=False)

    assert doc.get("resources") or doc.get("modules")


def test_every_resource_uses_an_approved_type_and_api_version() -> None:
    """Types and api-versions come from the spec's list, nothing else."""
    unapproved = [
        f"{path.relative_to(INFRA)}: {name} {res['type']}@{res['api_version']}"
        for path, _, name, res in resources()
        if res["api_version"] not in APPROVED_API_VERSIONS.get(res["type"], set())
    ]

    assert [] == unapproved


def test_role_assignments_use_the_real_role_ids_and_deterministic_names() -> None:
    """Every assignment is named guid(scope id, principal, role) and grants a spec role or the
    custom Video Indexer role."""
    granted = set()
    for doc, res in resources_of("Microsoft.Authorization/roleAssignments"):
        scope_id, principal, role = function_args(res["name"], "guid")
        role_definition = function_args(
            res["properties"]["roleDefinitionId"], "subscription_resource_id"
        )
        role_id = CUSTOM_ROLE_PARAM if role in doc.get("parameters", {}) else resolve(doc, role)

        assert (f"{res['scope']}.id", res["properties"]["principalId"]) == (
            dotted(scope_id),
            principal,
        )
        assert ["Microsoft.Authorization/roleDefinitions", role] == role_definition[:2]
        assert role_id in {*ROLE_IDS, CUSTOM_ROLE_PARAM}, f"{role_id!r} is not a known role"
        granted.add(role_id)

    assert {*ROLE_IDS, CUSTOM_ROLE_PARAM} == granted


def test_no_contributor_or_owner_role_is_named_anywhere_in_the_templates() -> None:
    """Neither role id appears in any .bicep file, so nothing can grant it."""
    named = {
        (path.name, match)
        for path in BICEP_FILES
        for match in re.findall(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}", path.read_text())
        if match in BROAD_ROLE_IDS
    }

    assert set() == named


def test_video_indexer_role_may_read_accounts_and_mint_tokens_and_nothing_else() -> None:
    """Exactly two actions, no wildcard, no data actions; assignable per subscription."""
    doc = bicep(INFRA / "modules" / "vi-role.bicep")
    role = body(doc["resources"]["role"])
    (permissions,) = role["properties"]["permissions"]
    scopes = role["properties"]["assignableScopes"]

    assert ("roleGuid", "CustomRole", "subscription") == (
        role["name"],
        role["properties"]["type"],
        doc["globals"]["scope"]["value"],
    )
    assert {"actions": VI_ROLE_ACTIONS, "notActions": [], "dataActions": []} | {
        "notDataActions": []
    } == permissions
    assert ("subscriptionIds", "/subscriptions/${subscriptionId}") == (
        scopes["loop_type"]["detail"]["array_name"],
        scopes["config"],
    )


def test_video_indexer_role_is_one_per_controller_and_assignable_where_accounts_are() -> None:
    """A fixed GUID and a tenant-unique name; defined in the first account's subscription,
    assignable in every distinct one, and assigned on every account."""
    doc = bicep(MAIN)
    module = main_module("viRole")
    accounts = [
        account_id(SUB_A, "rg-video", "east"),
        account_id(SUB_B.upper(), "rg-other", "west"),
        account_id(SUB_A, "rg-more", "north"),
    ]
    evaluator = Evaluator(doc, {"videoIndexerAccountIds": accounts})

    assert "functionAppName" in function_args(resolve(doc, module["params"]["roleGuid"]), "guid")
    assert "(${functionAppName})" in resolve(doc, module["params"]["roleName"])
    assert SUB_A == evaluator.evaluate(function_args(module["scope"], "subscription")[0], {})
    assert [SUB_A, SUB_B] == evaluator.variable(module["params"]["subscriptionIds"])
    assert ("accountIds", "viRole.outputs.name") == (
        bicep(MAIN)["modules"]["accountAccess"]["config"]["loop_type"]["detail"]["array_name"],
        dotted(main_module("accountAccess")["params"][CUSTOM_ROLE_PARAM]),
    )


def test_role_ids_are_named_in_a_comment() -> None:
    """The line above each role id's variable names the role."""
    declared = {}
    for path in BICEP_FILES:
        pattern = r"^// (?P<comment>.*)\nvar \w+ = '(?P<role>[0-9a-f-]{36})'$"
        for match in re.finditer(pattern, path.read_text(), re.MULTILINE):
            declared[match["role"]] = match["comment"]

    assert set(ROLE_IDS) == set(declared)
    assert [] == [
        (role_id, comment)
        for role_id, comment in declared.items()
        if not comment.startswith(ROLE_IDS[role_id])
    ]


def test_service_health_rule_matches_video_indexer_in_the_accounts_regions_and_global() -> None:
    """ServiceHealth category, incident types, service names, and regions plus Global."""
    doc, rule = alert_rule("ServiceHealth")
    condition = leaves(rule["properties"]["condition"])
    regions = resolve(
        doc,
        condition["properties.impactedServices[*].ImpactedRegions[*].RegionName"]["containsAny"],
    )
    (scope,) = rule["properties"]["scopes"]
    scope_owner, scope_property = scope["operator"]["operands"].values()

    assert {
        "category",
        "properties.incidentType",
        "properties.impactedServices[*].ServiceName",
        "properties.impactedServices[*].ImpactedRegions[*].RegionName",
    } == set(condition)
    assert "containsAny" in condition["properties.impactedServices[*].ServiceName"]
    assert ["regionDisplayNames", ["Global"]] == function_args(regions, "union")
    assert ("global", "subscription", "id") == (
        rule["location"],
        scope_owner["function"]["type"],
        scope_property,
    )


def rules_per_subscription(account_ids: list[str]) -> dict[str, dict[str, Any]]:
    """For each subscription main.bicep deploys alert rules into: the resource group, the
    Service Health rules' scopes and the accounts the Resource Health rules watch."""
    doc = bicep(MAIN)
    module = main_module("subscriptionAlerts")
    loop = bicep(MAIN)["modules"]["subscriptionAlerts"]["config"]["loop_type"]["detail"]
    rules_doc = bicep(INFRA / "modules" / "subscription-alerts.bicep")
    params = {"videoIndexerAccountIds": account_ids, "appCodePublished": True}
    main = Evaluator(doc, params, subscription_id=SUB_A)
    homes = main.evaluate(loop["array_name"], {})
    found = {}
    for home in homes:
        scope = {loop["item_name"]: home}
        args = module["scope"]["function"]["parameters"]
        subscription_id = main.evaluate(args["subscription_id"], scope)
        group = main.evaluate(args["resource_group_name"], scope)
        rules = Evaluator(rules_doc, {"accountIds": account_ids}, subscription_id=subscription_id)
        found[subscription_id] = {
            "resourceGroup": group,
            "serviceHealthScopes": [
                rules.evaluate(res["properties"]["scopes"], {})
                for _, res in alert_rules("ServiceHealth")
            ],
            "watchedAccounts": rules.variable("subscriptionAccountIds"),
        }
    return found


def test_each_subscription_holding_an_account_gets_its_own_service_health_rule() -> None:
    """Two accounts in two subscriptions: two Service Health rules, each scoped to its own
    subscription, each subscription's Resource Health rules watching its own account; the
    rules go to this resource group in its own subscription, else to the account's group."""
    east = account_id(SUB_A, "rg-video", "east")
    west = account_id(SUB_B.upper(), "rg-other", "west")

    assert {
        SUB_A: {
            "resourceGroup": "rg-vi-failover",
            "serviceHealthScopes": [[f"/subscriptions/{SUB_A}"]],
            "watchedAccounts": [east],
        },
        SUB_B: {
            "resourceGroup": "rg-other",
            "serviceHealthScopes": [[f"/subscriptions/{SUB_B}"]],
            "watchedAccounts": [west],
        },
    } == rules_per_subscription([east, west])


def test_accounts_in_one_subscription_get_one_set_of_rules() -> None:
    """Three accounts, two subscriptions: two homes, not three."""
    accounts = [
        account_id(SUB_B, "rg-b", "east"),
        account_id(SUB_A, "rg-a", "west"),
        account_id(SUB_B, "rg-b2", "north"),
    ]

    found = rules_per_subscription(accounts)

    assert [SUB_B, SUB_A] == list(found)
    assert ("rg-b", [accounts[0], accounts[2]]) == (
        found[SUB_B]["resourceGroup"],
        found[SUB_B]["watchedAccounts"],
    )


def test_main_feeds_the_service_health_rule_its_documented_defaults() -> None:
    """Service names, incident types and regions flow from main.bicep's parameters."""
    params = main_params()
    alerts = main_module("subscriptionAlerts")["params"]

    assert SERVICE_NAMES == params["serviceHealthServiceNames"]["default"]
    assert ["Incident"] == params["serviceHealthIncidentTypes"]["default"]
    assert (
        "serviceHealthServiceNames",
        "serviceHealthIncidentTypes",
        "videoIndexerRegionDisplayNames",
    ) == (alerts["serviceNames"], alerts["incidentTypes"], alerts["regionDisplayNames"])


def test_every_any_of_in_every_alert_rule_compares_one_field() -> None:
    """An anyOf mixing fields is not a condition Azure Monitor evaluates; none exists."""
    conditions = [
        res["properties"]["condition"]
        for _, res in resources_of("Microsoft.Insights/activityLogAlerts")
    ]
    fields_of_each_any_of = [fields for c in conditions for fields in any_of_fields(c)]

    assert fields_of_each_any_of
    assert [] == [fields for fields in fields_of_each_any_of if 1 != len(fields)]


def test_resource_health_rules_hear_an_account_enter_and_leave_a_bad_state() -> None:
    """Two rules on the VI resource type and the accounts: current status in a bad state, and
    previous status in one."""
    bad = {"Unavailable", "Degraded", "Unknown"}
    seen = {}
    for _, rule in alert_rules("ResourceHealth"):
        condition = rule["properties"]["condition"]
        fields = leaves(condition)
        (status_field,) = set(fields) - {"category", "resourceType", "resourceId"}

        assert {"Microsoft.VideoIndexer/accounts"} == leaf_values(condition, "resourceType")
        assert {"accountId"} == leaf_values(condition, "resourceId")
        assert [{"resourceId"}, {status_field}] == any_of_fields(condition)
        seen[status_field] = leaf_values(condition, status_field)

    assert {
        "properties.currentHealthStatus": bad,
        "properties.previousHealthStatus": bad,
    } == seen


def decorators(param: dict[str, Any]) -> dict[str, Any]:
    """A parameter's decorators, name to argument (None for @secure())."""
    return {d["type"]: d.get("argument") for d in param["decorators"]}


def action_group_receivers(**params: Any) -> dict[str, Any]:
    """The action group's receiver lists for the given alerts.bicep parameters."""
    doc = bicep(INFRA / "modules" / "alerts.bicep")
    (group,) = [
        body(res)
        for res in doc["resources"].values()
        if "Microsoft.Insights/actionGroups" == res["type"]
    ]
    # The URL's ${uriComponent(...)} is beyond the evaluator; its text is checked on its own.
    evaluator = Evaluator(doc, {"alertsUrl": "<alerts url>"} | params)
    return {
        key: evaluator.evaluate(value, {})
        for key, value in group["properties"].items()
        if key.endswith("Receivers")
    }


def test_action_group_is_global_and_has_one_webhook_receiver_with_its_own_key_and_secret() -> None:
    """Location Global; one webhook (a Function receiver could not carry ?token=) posting the
    common schema to the alerts route with the action group's key and the shared secret."""
    doc = bicep(INFRA / "modules" / "alerts.bicep")
    ((_, group),) = resources_of("Microsoft.Insights/actionGroups")
    receivers = action_group_receivers(useSecureWebhook=False)

    assert "Global" == group["location"]
    assert {
        "webhookReceivers": [
            {
                "name": "vi-failover-alerts",
                "serviceUri": "<alerts url>",
                "useCommonAlertSchema": True,
                "useAadAuth": False,
            }
        ]
    } == receivers
    assert (
        "https://${functionAppHostName}/api/alerts"
        "?code=${uriComponent(actionGroupKey)}&token=${uriComponent(alertSharedSecret)}"
    ) == resolve(doc, "alertsUrl")
    assert {"secure": None} == {
        k: v for k, v in decorators(doc["parameters"]["actionGroupKey"]).items() if "secure" == k
    }
    assert re.search(
        r'@app\.function_name\("alerts"\)\n@app\.route\(route="alerts", methods=\["POST"\]\)',
        (ROOT / "function_app.py").read_text(),
    )


def test_secure_webhook_adds_entra_id_to_the_same_single_receiver() -> None:
    """useSecureWebhook: the one receiver gets useAadAuth and the app registration's ids."""
    receivers = action_group_receivers(
        useSecureWebhook=True,
        secureWebhookObjectId="app-object-id",
        secureWebhookIdentifierUri="api://vi-failover-alerts",
        secureWebhookTenantId="tenant-id",
    )

    assert {
        "webhookReceivers": [
            {
                "name": "vi-failover-alerts",
                "serviceUri": "<alerts url>",
                "useCommonAlertSchema": True,
                "useAadAuth": True,
                "objectId": "app-object-id",
                "identifierUri": "api://vi-failover-alerts",
                "tenantId": "tenant-id",
            }
        ]
    } == receivers


def test_secure_webhook_object_id_is_documented_as_the_app_registrations_with_its_owner() -> None:
    """The parameter and infra/README.md both say: the app registration's object id, not the
    service principal's, and the deployer owns that app registration."""
    description = decorators(main_params()["secureWebhookObjectId"])["description"]
    readme = " ".join(INFRA_README.read_text().split())

    assert "object id of the app registration" in description
    assert "not its service principal" in description
    assert "must be an owner of that app registration" in description
    assert "`secureWebhookObjectId` | `''` | With the secure webhook: the object id of the app" in (
        readme
    )
    assert "not its service principal" in readme.split("`secureWebhookObjectId` | `''` |")[1][:300]
    assert "az ad app owner add" in readme


@pytest.mark.parametrize(
    ("object_id", "identifier_uri"),
    [("", "api://vi-failover-alerts"), ("app-object-id", ""), ("", "")],
    ids=["no-object-id", "no-identifier-uri", "neither"],
)
def test_secure_webhook_without_its_app_registration_stops_the_deployment(
    object_id: str, identifier_uri: str
) -> None:
    """useSecureWebhook=true needs both ids; the message names both parameters."""
    params = {
        "useSecureWebhook": True,
        "secureWebhookObjectId": object_id,
        "secureWebhookIdentifierUri": identifier_uri,
    }

    with pytest.raises(BicepFailureError) as failure:
        main_value("secureWebhook", **params)

    assert str(failure.value).startswith("secureWebhookObjectId and secureWebhookIdentifierUri: ")
    assert False is main_value("secureWebhook", useSecureWebhook=False)
    assert True is main_value(
        "secureWebhook",
        useSecureWebhook=True,
        secureWebhookObjectId="app-object-id",
        secureWebhookIdentifierUri="api://vi-failover-alerts",
    )
    assert "secureWebhook" == main_module("alerts")["params"]["useSecureWebhook"]


def test_no_host_key_is_read_or_handed_out() -> None:
    """No listKeys of anything in any template, and no output, setting or URL names a host key."""
    texts = {path.relative_to(INFRA): path.read_text() for path in BICEP_FILES}

    assert [] == [name for name, text in texts.items() if re.search(r"list\w*\(", text)]
    assert [] == [
        name for name, text in texts.items() if re.search(r"sites/host|_master|masterKey", text)
    ]


def test_action_group_key_is_its_own_key_on_the_alerts_function() -> None:
    """A key named action-group on `alerts` only, from a required secure parameter of 32 or more
    characters (no default: a redeploy never rotates it), the same one the action group gets."""
    doc = bicep(INFRA / "modules" / "function-keys.bicep")
    resources_by_name = doc["resources"]
    key = body(resources_by_name["actionGroupFunctionKey"])
    parent = body(resources_by_name[key["parent"]])
    param = main_params()["actionGroupKey"]

    assert ("action-group", "actionGroupKey", "alerts") == (
        key["name"],
        key["value"],
        parent["name"],
    )
    assert "secure" in decorators(doc["parameters"]["actionGroupKey"])
    assert {"secure": None, "min_length": 32} == {
        k: v for k, v in decorators(param).items() if "description" != k
    }
    assert param["default"] is None
    assert ("actionGroupKey", "actionGroupKey") == (
        main_module("functionKeys")["params"]["actionGroupKey"],
        main_module("alerts")["params"]["actionGroupKey"],
    )


def test_alert_shared_secret_is_secure_long_required_and_always_deployed() -> None:
    """@secure() @minLength(16) and required (a default would change it on every deployment,
    behind the action group's back); ALERT_SHARED_SECRET is in the settings
    every deployment makes (not behind a condition) and goes to the action group."""
    param = main_params()["alertSharedSecret"]
    always = dict(object_entries(function_args(resolve(bicep(MAIN), "appSettings"), "union")[0]))

    assert {"secure": None, "min_length": 16} == {
        k: v for k, v in decorators(param).items() if "description" != k
    }
    assert param["default"] is None
    assert "alertSharedSecret" == always["ALERT_SHARED_SECRET"]
    assert "alertSharedSecret" == main_module("alerts")["params"]["alertSharedSecret"]


def function_level_get_routes() -> list[str]:
    """The functions of function_app.py that answer GET at the default (function) auth level."""
    source = (ROOT / "function_app.py").read_text()
    pattern = r'@app\.function_name\("(\w+)"\)\n@app\.route\(route="[^"]*", methods=\["GET"\]\)\n'
    return re.findall(pattern, source)


def reader_key_grants(reader_keys: dict[str, str]) -> list[dict[str, str]]:
    """The (function, key name, value) triples function-keys.bicep sets for these readerKeys."""
    doc = bicep(INFRA / "modules" / "function-keys.bicep")
    return cast(
        "list[dict[str, str]]",
        Evaluator(doc, {"readerKeys": reader_keys}).variable("readerKeyGrants"),
    )


def test_before_the_code_is_published_no_key_action_group_or_rule_is_deployed() -> None:
    """appCodePublished defaults to false and gates the keys, the action group and its rules;
    the actionGroupId output is empty until then."""
    modules = bicep(MAIN)["modules"]
    gated = {
        name
        for name, module in modules.items()
        if "appCodePublished" == module["config"].get("condition")
    }
    output = bicep(MAIN)["outputs"]["actionGroupId"]["value"]["operator"]

    rules_loop = modules["subscriptionAlerts"]["config"]["loop_type"]["detail"]["array_name"]

    assert False is main_params()["appCodePublished"]["default"]
    assert {"functionKeys", "alerts"} == gated
    assert ("appCodePublished", "alertRuleHomes", []) == tuple(
        rules_loop["operator"]["operands"].values()
    )
    assert ("appCodePublished", "") == (
        output["operands"]["condition"],
        output["operands"]["false_value"],
    )


def test_reader_keys_are_set_on_each_read_function_and_nothing_else() -> None:
    """Every readerKeys entry becomes a key of each function-level GET route, under its name."""
    keys = {"readers": "r" * 32, "readers-next": "n" * 40}
    grants = reader_key_grants(keys)
    loop = bicep(INFRA / "modules" / "function-keys.bicep")["resources"]["readerFunctionKeys"]

    assert ["active_account", "status", "history", "groups", "console"] == (
        function_level_get_routes()
    )
    assert sorted(
        (function, name, value)
        for function in function_level_get_routes()
        for name, value in keys.items()
    ) == sorted((g["functionName"], g["keyName"], g["value"]) for g in grants)
    assert ("readerKeyGrants", "${site.name}/${grant.functionName}/${grant.keyName}") == (
        loop["config"]["loop_type"]["detail"]["array_name"],
        body(loop)["name"],
    )
    assert "readerKeys" == main_module("functionKeys")["params"]["readerKeys"]
    assert "secure" in decorators(main_params()["readerKeys"])
    assert [] == reader_key_grants({})


def test_a_short_reader_key_stops_the_deployment_naming_the_key_not_its_value() -> None:
    """Under 32 characters: a failure that names readerKeys and the key's name only."""
    with pytest.raises(BicepFailureError) as failure:
        reader_key_grants({"readers": "r" * 32, "weak": "w" * 31})

    assert str(failure.value).startswith("readerKeys: ")
    assert "weak" in str(failure.value)
    assert "w" * 31 not in str(failure.value)


def test_app_settings_are_exactly_the_ones_the_app_reads_plus_platform_ones() -> None:
    """Bicep deploys every app setting but the exempt ones, and no unknown name."""
    expected = (set(SETTING_NAMES) - set(NOT_DEPLOYED)) | PLATFORM_SETTINGS

    assert set(NOT_DEPLOYED) <= set(SETTING_NAMES), "an exemption names a setting that is gone"
    assert sorted(expected) == sorted(app_settings())
    assert "appSettings" == main_module("functionApp")["params"]["appSettings"]


def test_readiness_schedule_default_is_the_apps() -> None:
    """READINESS_SCHEDULE comes from a parameter whose default is the app's own."""
    param = app_settings()["READINESS_SCHEDULE"]

    assert READINESS_SCHEDULE_DEFAULT == main_params()[param]["default"]


def test_tuning_defaults_in_bicep_change_nothing_in_the_app() -> None:
    """Settings deployed from literal parameter defaults parse to the app's own defaults."""
    params = main_params()
    env = {}
    for name, expression in app_settings().items():
        value = expression
        if isinstance(value, dict) and "string" == value.get("function", {}).get("type"):
            (value,) = function_args(value, "string")
        default = params.get(value, {}).get("default") if isinstance(value, str) else None
        if isinstance(default, str | int) and not isinstance(default, bool):
            env[name] = str(default)

    assert {"ACTIVE_ACCOUNT_MAX_AGE", "PROBE_SLOW_MS", "FAILOVER_TABLE", "VI_BASE_URL"} <= set(env)
    assert load_settings(MINIMAL_ENV) == load_settings(MINIMAL_ENV | env)


def test_parameters_file_names_only_template_parameters_and_all_required_ones() -> None:
    """main.parameters.json ⊆ the template's parameters ⊇ those without a default, except the
    required secrets, which never go in a file in the repository (given on the command line)."""
    document = json.loads(PARAMETERS_FILE.read_text())
    given = set(document["parameters"])
    params = main_params()
    required = {name for name, spec in params.items() if spec["default"] is None}
    secrets = {name for name in required if "secure" in decorators(params[name])}

    assert "deploymentParameters.json#" in document["$schema"]
    assert set() == given - set(params)
    assert set() == required - secrets - given
    assert {"alertSharedSecret", "actionGroupKey"} == secrets
    assert set() == secrets & given


def test_parameters_file_values_respect_allowed_lists() -> None:
    """A value given for a parameter with @allowed is one of the allowed values."""
    given = json.loads(PARAMETERS_FILE.read_text())["parameters"]
    params = main_params()
    rejected = []
    for name, entry in given.items():
        for decorator in params[name]["decorators"]:
            if "allowed" != decorator["type"]:
                continue
            values = entry["value"] if isinstance(entry["value"], list) else [entry["value"]]
            rejected += [(name, v) for v in values if v not in decorator["argument"]]

    assert [] == rejected


def readme_parameter_tokens() -> list[str]:
    """The tokens after each --parameters in infra/README.md's shell commands."""
    text = INFRA_README.read_text()
    tokens: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        for command in block.replace("\\\n", " ").splitlines():
            words = shlex.split(command, comments=True)
            for i, word in enumerate(words):
                if "--parameters" == word:
                    following = words[i + 1 :]
                    end = next((j for j, w in enumerate(following) if w.startswith("--")), None)
                    tokens += following[:end]
    return tokens


def test_operator_app_role_is_the_one_the_app_checks_for_users_and_apps() -> None:
    """The manifest entry's value is the app's OPERATOR_ROLE; people and automation may hold it;
    it has a fixed id and is enabled."""
    (role,) = json.loads(OPERATOR_APP_ROLES.read_text())

    assert OPERATOR_ROLE == role["value"]
    assert ["Application", "User"] == sorted(role["allowedMemberTypes"])
    assert (True, 4) == (role["isEnabled"], uuid.UUID(role["id"]).version)
    assert {"allowedMemberTypes", "description", "displayName", "id", "isEnabled", "value"} == set(
        role
    )


def test_readme_creates_the_operator_app_registration_and_assigns_the_role() -> None:
    """infra/README.md creates the app registration from the manifest file, assigns the role by
    its id, and deploys with operatorAudience."""
    text = INFRA_README.read_text()
    (role,) = json.loads(OPERATOR_APP_ROLES.read_text())
    commands = " ".join(re.findall(r"```bash\n(.*?)```", text, re.DOTALL))

    assert "--app-roles @infra/operator-app-roles.json" in commands
    assert "appRoleAssignedTo" in commands
    assert role["id"] in commands
    assert "operatorAudience" in [t.partition("=")[0] for t in readme_parameter_tokens()]


def test_readme_says_who_holds_each_credential_and_how_to_rotate_it() -> None:
    """The "Who holds what" table has a row per holder, naming the parameter or role that makes
    the credential, and a rotation for each."""
    section = INFRA_README.read_text().split("## Who holds what\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    named = {
        "The action group": ["`actionGroupKey`", "`alertSharedSecret`"],
        "Reading apps": ["`readerKeys`"],
        "Operators": ["`Failover.Operator`"],
        "Break-glass": ["master key"],
        "Nobody": ["`default` key"],
    }

    assert "| who | holds | opens | how to rotate |" == rows[0]
    for holder, words in named.items():
        (row,) = [r for r in rows if r.startswith(f"| {holder}")]
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert 4 == len(cells), holder
        assert all(cells), holder
        assert [] == [w for w in words if w not in row], holder


def test_readme_commands_name_only_template_parameters() -> None:
    """Every --parameters name=value in infra/README.md is a main.bicep parameter."""
    tokens = readme_parameter_tokens()
    files = [t for t in tokens if t.startswith("@")]
    names = [t.partition("=")[0] for t in tokens if not t.startswith("@")]

    assert ["@infra/main.parameters.json"] == sorted(set(files))
    assert names, "the README shows no --parameters name=value"
    assert [] == [n for n in names if n not in main_params()]


def test_readme_describes_every_parameter() -> None:
    """infra/README.md mentions each main.bicep parameter by name."""
    text = INFRA_README.read_text()

    assert [] == [name for name in main_params() if f"`{name}`" not in text]


def test_list_parameters_the_rules_are_built_from_need_at_least_one_entry() -> None:
    """Region names, service names and incident types: @minLength(1), and said so."""
    params = main_params()
    names = ["videoIndexerRegionDisplayNames", "serviceHealthServiceNames"]
    names.append("serviceHealthIncidentTypes")

    for name in names:
        decorators = {d["type"]: d.get("argument") for d in params[name]["decorators"]}
        assert 1 == decorators["min_length"], name
        assert "at least one" in decorators["description"].lower(), name


@pytest.mark.parametrize(
    ("given", "expected_message"),
    [
        ([], "at least two"),
        ([account_id(SUB_A, "rg", "east")], "at least two"),
        ([account_id(SUB_A, "rg", "east"), "contoso-westus"], "contoso-westus"),
        (
            [account_id(SUB_A, "rg", "east"), "/subscriptions/x/resourceGroups/rg/providers/y/z"],
            "/providers/y/z",
        ),
    ],
    ids=["none", "one", "a-bare-name", "another-resource-type"],
)
def test_too_few_or_malformed_account_ids_stop_the_deployment_naming_the_parameter(
    given: list[str], expected_message: str
) -> None:
    """The deployment fails with a message about videoIndexerAccountIds, not an empty rule."""
    with pytest.raises(BicepFailureError) as failure:
        main_value("accountIds", videoIndexerAccountIds=given)

    assert str(failure.value).startswith("videoIndexerAccountIds: ")
    assert expected_message in str(failure.value)


def test_two_account_ids_or_created_accounts_pass_the_check() -> None:
    """Two well-formed ids are used as given; deployVideoIndexerAccounts ignores the list."""
    given = [account_id(SUB_A, "rg-video", "east"), account_id(SUB_B, "rg-other", "west")]

    created = main_value(
        "accountIds",
        deployVideoIndexerAccounts=True,
        primaryLocation="eastus",
        secondaryLocation="westus",
    )

    assert given == main_value("accountIds", videoIndexerAccountIds=given)
    assert [
        account_id(SUB_A, "rg-vi-failover", "vi-test-eastus"),
        account_id(SUB_A, "rg-vi-failover", "vi-test-westus"),
    ] == created


def test_controller_runs_in_the_secondary_region_by_default() -> None:
    """location defaults to the required secondaryLocation and places the app and its state."""
    params = main_params()
    doc = bicep(MAIN)

    assert ("secondaryLocation", None) == (
        params["location"]["default"],
        params["secondaryLocation"]["default"],
    )
    assert ["location"] * 4 == [
        main_module("functionApp")["params"]["location"],
        main_module("stateStorage")["params"]["location"],
        main_module("monitoring")["params"]["location"],
        body(doc["resources"]["identity"])["location"],
    ]


def test_function_app_is_flex_consumption_python_311_with_identity_deployment_storage() -> None:
    """FC1 plan, Linux function app, python 3.11, package read with the managed identity."""
    ((_, plan),) = resources_of("Microsoft.Web/serverfarms")
    ((_, site),) = resources_of("Microsoft.Web/sites")
    config = site["properties"]["functionAppConfig"]

    assert {"name": "FC1", "tier": "FlexConsumption"} == plan["sku"]
    assert "functionapp,linux" == site["kind"]
    assert {"name": "python", "version": "3.11"} == config["runtime"]
    assert ("blobContainer", "UserAssignedIdentity") == (
        config["deployment"]["storage"]["type"],
        config["deployment"]["storage"]["authentication"]["type"],
    )


def test_function_app_takes_https_and_tls_12_only_and_has_no_basic_publishing_credentials() -> None:
    """httpsOnly, TLS 1.2, FTPS off, and the ftp and scm basic-credential policies deny."""
    doc = bicep(INFRA / "modules" / "function-app.bicep")
    site = body(doc["resources"]["site"])
    policies = {
        body(res)["name"]: (body(res)["parent"], body(res)["properties"])
        for res in doc["resources"].values()
        if "Microsoft.Web/sites/basicPublishingCredentialsPolicies" == res["type"]
    }

    assert (True, "1.2", "Disabled") == (
        site["properties"]["httpsOnly"],
        site["properties"]["siteConfig"]["minTlsVersion"],
        site["properties"]["siteConfig"]["ftpsState"],
    )
    assert {"ftp": ("site", {"allow": False}), "scm": ("site", {"allow": False})} == policies


def roles_granted_on(path: Path, scope: str) -> set[str]:
    """The names of the roles one file assigns on the resource with symbolic name `scope`."""
    doc = bicep(path)
    assignments = [
        body(res)
        for res in doc["resources"].values()
        if "Microsoft.Authorization/roleAssignments" == res["type"]
    ]
    return {
        ROLE_IDS[resolve(doc, function_args(res["name"], "guid")[2])]
        for res in assignments
        if scope == res["scope"]
    }


def test_host_storage_grants_the_identity_the_roles_of_microsofts_flex_samples() -> None:
    """Deployment and host storage: Blob Data Owner, Queue and Table Data Contributor."""
    granted = roles_granted_on(INFRA / "modules" / "function-app.bicep", "deploymentStorage")

    assert {
        "Storage Blob Data Owner",
        "Storage Queue Data Contributor",
        "Storage Table Data Contributor",
    } == granted


def test_state_storage_is_geo_redundant_and_entra_id_only() -> None:
    """RA-GZRS by default, no shared keys, TLS 1.2, HTTPS only, both table endpoints output."""
    module = bicep(INFRA / "modules" / "state-storage.bicep")
    storage = body(module["resources"]["storage"])["properties"]
    outputs = module["outputs"]

    assert "Standard_RAGZRS" == main_params()["stateStorageSku"]["default"]
    assert (False, "TLS1_2", True) == (
        storage["allowSharedKeyAccess"],
        storage["minimumTlsVersion"],
        storage["supportsHttpsTrafficOnly"],
    )
    assert (
        "storage.properties.primaryEndpoints.table",
        "storage.properties.secondaryEndpoints.table",
    ) == (
        dotted(outputs["tablePrimaryEndpoint"]["value"]),
        dotted(outputs["tableSecondaryEndpoint"]["value"]),
    )


def test_main_outputs_what_operators_and_apps_need() -> None:
    """App name and URL, both table endpoints, the identity's ids and the action group."""
    outputs = bicep(MAIN)["outputs"]

    assert {
        "functionAppName",
        "functionAppUrl",
        "stateTablePrimaryEndpoint",
        "stateTableSecondaryEndpoint",
        "identityClientId",
        "identityPrincipalId",
        "actionGroupId",
    } == set(outputs)
    assert (
        "https://${functionApp.outputs.defaultHostName}/api" == outputs["functionAppUrl"]["value"]
    )
