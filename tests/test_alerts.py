"""Alert bodies → signals: every payload fact in spec/alerts.md, plus properties over junk."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.core.alerts import InvalidAlertError, parse_alert, parse_alert_body, parse_timestamp
from shared.core.model import ImpactedService, NotOurs, Phase, Signal, SignalKind
from tests import alertfactory as af

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
VI_KEY = af.VI_RESOURCE_ID.lower()

SERVICE_SIGNAL = Signal(
    kind=SignalKind.SERVICE_HEALTH,
    key="VT0X-1AB",
    update_id="1000",
    event_time=T0,
    phase=Phase.ACTIVE,
    incident_type="Incident",
    status="Active",
    stage="Active",
    title="Video Indexer - East US",
    services=(ImpactedService("Azure AI Video Indexer", ("East US",)),),
    tracking_id="VT0X-1AB",
    communication_id="1000",
)
RESOURCE_SIGNAL = Signal(
    kind=SignalKind.RESOURCE_HEALTH,
    key=VI_KEY,
    update_id="6d1f3b8e-4a27-4c0d-9e15-2b7a8c9d0e31",
    event_time=T0,
    phase=Phase.ACTIVE,
    incident_type="Downtime",
    status="Active",
    stage="",
    title="Video Indexer account health status changed to unavailable",
    resource_id=VI_KEY,
    health="Unavailable",
)
SH = "data.alertContext"  # where Service Health and Resource Health fields sit (common)
LEGACY = "data.context.activityLog"


def _parsed(payload: object) -> Signal:
    """Parse through the HTTP body path and insist on a Signal."""
    result = parse_alert_body(af.to_body(payload))
    assert isinstance(result, Signal), result
    return result


def _error(payload: object) -> str:
    with pytest.raises(InvalidAlertError) as info:
        parse_alert(payload)
    return str(info.value)


# --- envelopes and kinds ------------------------------------------------------------------


@pytest.mark.parametrize("schema", ["common", "legacy"])
def test_service_health_alert_becomes_a_signal_keyed_by_tracking_id(schema: af.Schema) -> None:
    """A Service Health alert in either envelope parses to the same signal."""
    payload = af.service_health(schema=schema)

    actual = _parsed(payload)

    expected = SERVICE_SIGNAL
    assert expected == actual


@pytest.mark.parametrize("schema", ["common", "legacy"])
def test_resource_health_alert_becomes_a_signal_keyed_by_lowercased_resource_id(
    schema: af.Schema,
) -> None:
    """A Resource Health alert in either envelope is keyed by the lower-cased resource id."""
    payload = af.resource_health(schema=schema)

    actual = _parsed(payload)

    expected = RESOURCE_SIGNAL
    assert expected == actual


@pytest.mark.parametrize(
    ("monitoring_service", "expected"),
    [
        ("ServiceHealth", SignalKind.SERVICE_HEALTH),
        ("Service Health", SignalKind.SERVICE_HEALTH),
        ("servicehealth", SignalKind.SERVICE_HEALTH),
        ("Resource Health", SignalKind.RESOURCE_HEALTH),
        ("ResourceHealth", SignalKind.RESOURCE_HEALTH),
        ("resource health", SignalKind.RESOURCE_HEALTH),
    ],
    ids=["ServiceHealth", "spaced", "lower", "Resource-Health", "ResourceHealth", "lower-rh"],
)
def test_monitoring_service_is_compared_ignoring_case_and_spaces(
    monitoring_service: str, expected: SignalKind
) -> None:
    """monitoringService picks the kind whatever its case or spacing."""
    base = af.service_health() if expected is SignalKind.SERVICE_HEALTH else af.resource_health()
    payload = af.replaced(base, "data.essentials.monitoringService", monitoring_service)

    actual = _parsed(payload).kind

    assert expected == actual


def test_schema_id_is_compared_ignoring_case() -> None:
    """A schemaId differing only in case is still the common schema."""
    payload = af.replaced(af.service_health(), "schemaId", "AzureMonitorCommonAlertSchema")

    actual = _parsed(payload)

    expected = SERVICE_SIGNAL
    assert expected == actual


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("data.essentials.signalType", "ActivityLog"),
        ("data.essentials.signalType", None),
        ("data.customProperties", {"owner": "media-sre"}),
        (f"{SH}.eventSource", "ResourceHealth"),
        (f"{SH}.eventSource", None),
    ],
    ids=[
        "signalType-ActivityLog",
        "signalType-null",
        "customProperties",
        "eventSource-odd",
        "eventSource-null",
    ],
)
def test_common_schema_fields_beside_monitoring_service_do_not_change_the_signal(
    path: str, value: object
) -> None:
    """signalType, customProperties and eventSource do not override monitoringService."""
    payload = af.replaced(af.service_health(), path, value)

    actual = _parsed(payload)

    expected = SERVICE_SIGNAL
    assert expected == actual


@pytest.mark.parametrize(
    ("schema", "numeric"),
    [("common", True), ("common", False), ("legacy", False)],
    ids=["common-numeric", "common-string", "legacy-string"],
)
def test_numeric_and_string_enums_give_the_same_signal(schema: af.Schema, numeric: bool) -> None:
    """eventSource 2, level 3 and channels 1 parse like their names."""
    payload = af.service_health(schema=schema, numeric_enums=numeric)

    actual = _parsed(payload)

    expected = SERVICE_SIGNAL
    assert expected == actual


@pytest.mark.parametrize(
    "event_source",
    [2, "2", "ServiceHealth", "Service Health"],
    ids=["number-2", "text-2", "name", "spaced-name"],
)
def test_legacy_event_source_names_service_health_by_name_or_number(event_source: object) -> None:
    """The legacy envelope recognises Service Health by eventSource name or the number 2."""
    payload = af.replaced(af.service_health(schema="legacy"), f"{LEGACY}.eventSource", event_source)

    actual = _parsed(payload)

    expected = SERVICE_SIGNAL
    assert expected == actual


# --- not ours -----------------------------------------------------------------------------


def _not_ours_common(kind: str) -> NotOurs:
    reason = f"monitoringService {kind!r} is not ServiceHealth or Resource Health"
    return NotOurs(reason=reason, alert_kind=kind)


def _not_ours_legacy(kind: str) -> NotOurs:
    return NotOurs(
        reason=f"eventSource {kind!r} is not ServiceHealth or ResourceHealth", alert_kind=kind
    )


def _other_service(name: str) -> dict[str, object]:
    return af.replaced(af.metric_alert(), "data.essentials.monitoringService", name)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (af.metric_alert(), _not_ours_common("Platform")),
        (af.log_alert(), _not_ours_common("Log Alerts V2")),
        (af.budget_alert(), _not_ours_common("CostAlerts")),
        (af.administrative_alert(), _not_ours_common("Activity Log - Administrative")),
        (_other_service("Activity Log - Security"), _not_ours_common("Activity Log - Security")),
        (_other_service("Log Analytics"), _not_ours_common("Log Analytics")),
        (_other_service("Application Insights"), _not_ours_common("Application Insights")),
        (_other_service("SmartDetector"), _not_ours_common("SmartDetector")),
        (
            af.replaced(af.metric_alert(), "data.essentials.monitoringService", None),
            NotOurs("monitoringService None is not ServiceHealth or Resource Health", "unknown"),
        ),
        (af.administrative_alert(schema="legacy"), _not_ours_legacy("Administrative")),
        (af.security_alert(), _not_ours_legacy("Security")),
        (
            af.replaced(af.service_health(schema="legacy"), f"{LEGACY}.eventSource", 7),
            _not_ours_legacy("7"),
        ),
        (
            af.deleted(af.security_alert(), f"{LEGACY}.eventSource"),
            NotOurs("eventSource None is not ServiceHealth or ResourceHealth", "unknown"),
        ),
        (
            af.aip_budget_notification(),
            NotOurs(
                "schemaId 'AIP Budget Notification' is not an activity-log alert",
                "AIP Budget Notification",
            ),
        ),
        (
            af.replaced(af.metric_alert(), "schemaId", "AzureMonitorMetricAlert"),
            NotOurs(
                "schemaId 'AzureMonitorMetricAlert' is not an activity-log alert",
                "AzureMonitorMetricAlert",
            ),
        ),
    ],
    ids=[
        "metric",
        "log-v2",
        "budget-nulls",
        "administrative",
        "security",
        "log-analytics",
        "app-insights",
        "smart-detector",
        "monitoringService-null",
        "legacy-administrative",
        "legacy-security",
        "legacy-eventSource-7",
        "legacy-eventSource-missing",
        "aip-budget-schema",
        "metric-alert-schema",
    ],
)
def test_well_formed_alerts_that_are_not_health_signals_are_not_ours(
    payload: dict[str, object], expected: NotOurs
) -> None:
    """Metric, log, budget, administrative, security and other schemas are set aside, with why."""
    actual = parse_alert_body(af.to_body(payload))

    assert expected == actual


# --- impacted services --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "impacted_as"),
    [("common", "string"), ("common", "array"), ("legacy", "string"), ("legacy", "array")],
    ids=["common-string", "common-array", "legacy-string", "legacy-array"],
)
def test_impacted_services_may_be_an_escaped_string_or_a_real_array(
    schema: af.Schema, impacted_as: af.ImpactedAs
) -> None:
    """impactedServices parses the same as escaped JSON text or as an array."""
    payload = af.service_health(schema=schema, impacted_as=impacted_as)

    actual = _parsed(payload).services

    assert SERVICE_SIGNAL.services == actual


@pytest.mark.parametrize(
    "services",
    [
        (("Azure AI Video Indexer", ("Global",)),),
        (("Video Indexer", ("East US", "East US 2", "Central US EUAP")),),
        (("App Service \\ Web Apps", ("West Europe",)), ("Azure AI Video Indexer", ("East US",))),
        (("Azure AI Video Indexer", ()),),
        (),
    ],
    ids=["global", "display-names", "backslash-sub-service", "no-regions", "no-services"],
)
@pytest.mark.parametrize("impacted_as", ["string", "array"])
def test_service_and_region_display_names_are_kept_as_sent(
    services: tuple[tuple[str, tuple[str, ...]], ...], impacted_as: af.ImpactedAs
) -> None:
    """Service and region names, "Global" and backslash sub-services pass through unchanged."""
    expected = tuple(ImpactedService(name, regions) for name, regions in services)
    payload = af.service_health(services=services, impacted_as=impacted_as)

    actual = _parsed(payload).services

    assert expected == actual


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            '[{"ServiceName":"Azure AI Video Indexer"}]',
            (ImpactedService("Azure AI Video Indexer", ()),),
        ),
        (
            [{"ServiceName": "Azure AI Video Indexer"}],
            (ImpactedService("Azure AI Video Indexer", ()),),
        ),
        (
            [{"ServiceName": "Video Indexer", "ImpactedRegions": None}],
            (ImpactedService("Video Indexer", ()),),
        ),
        (None, ()),
        ("", ()),
        ("[]", ()),
    ],
    ids=[
        "regions-missing-string",
        "regions-missing-array",
        "regions-null",
        "null",
        "empty-text",
        "empty-array",
    ],
)
def test_missing_or_null_impacted_fields_mean_none_impacted(
    value: object, expected: object
) -> None:
    """A missing ImpactedRegions or a null/empty impactedServices is empty, not an error."""
    payload = af.replaced(af.service_health(), f"{SH}.properties.impactedServices", value)

    actual = _parsed(payload).services

    assert expected == actual


def test_impacted_services_absent_means_no_services() -> None:
    """An alert without impactedServices has no services."""
    payload = af.deleted(af.service_health(), f"{SH}.properties.impactedServices")

    actual = _parsed(payload).services

    expected = ()
    assert expected == actual


# --- phases -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "status", "expected"),
    [
        ("Active", "Active", Phase.ACTIVE),
        ("InProgress", "Active", Phase.ACTIVE),
        ("In Progress", "Active", Phase.ACTIVE),
        ("Planned", "Active", Phase.PLANNED),
        ("Rescheduled", "Active", Phase.PLANNED),
        ("Resolved", "Resolved", Phase.RESOLVED),
        ("Complete", "Active", Phase.RESOLVED),
        ("Completed", "Resolved", Phase.RESOLVED),
        ("Canceled", "Active", Phase.RESOLVED),
        ("Cancelled", "Active", Phase.RESOLVED),
        ("RCA", "Resolved", Phase.RCA),
        ("rca", "Resolved", Phase.RCA),
        ("Active", "Resolved", Phase.ACTIVE),
        (None, "Resolved", Phase.RESOLVED),
        (None, "Active", Phase.ACTIVE),
        ("", "Resolved", Phase.RESOLVED),
        ("Mitigated", "Active", Phase.ACTIVE),
        ("Mitigated", "Resolved", Phase.RESOLVED),
    ],
    ids=[
        "active",
        "inprogress",
        "in-progress",
        "planned",
        "rescheduled",
        "resolved",
        "complete",
        "completed",
        "canceled",
        "cancelled",
        "rca",
        "rca-lower",
        "stage-beats-status",
        "no-stage-resolved",
        "no-stage-active",
        "empty-stage",
        "unknown-stage-active",
        "unknown-stage-resolved",
    ],
)
@pytest.mark.parametrize("schema", ["common", "legacy"])
def test_stage_decides_the_phase_and_status_is_the_fallback(
    stage: str | None, status: str, expected: Phase, schema: af.Schema
) -> None:
    """Each documented stage maps to its phase; a missing or unknown stage falls back to status."""
    payload = af.service_health(stage=stage, status=status, schema=schema)

    actual = _parsed(payload).phase

    assert expected == actual


def test_stage_and_status_are_kept_as_sent() -> None:
    """The signal carries stage and status verbatim, for the audit trail."""
    payload = af.service_health(stage="In Progress", status="Active", incident_type="Maintenance")

    actual = _parsed(payload)

    expected = ("In Progress", "Active", "Maintenance")
    assert expected == (actual.stage, actual.status, actual.incident_type)


@pytest.mark.parametrize(
    "incident_type",
    [
        "Incident",
        "Maintenance",
        "Informational",
        "ActionRequired",
        "Security",
        "incident",
        "Brand New",
    ],
)
def test_incident_type_is_kept_as_sent_even_when_unknown(incident_type: str) -> None:
    """incidentType passes through unchanged; unknown values are tolerated."""
    payload = af.service_health(incident_type=incident_type)

    actual = _parsed(payload).incident_type

    assert incident_type == actual


def test_missing_incident_type_is_empty() -> None:
    """A Service Health alert without incidentType has incident_type ""."""
    payload = af.deleted(af.service_health(), f"{SH}.properties.incidentType")

    actual = _parsed(payload).incident_type

    expected = ""
    assert expected == actual


@pytest.mark.parametrize(
    ("status", "current", "expected"),
    [
        ("Active", "Unavailable", Phase.ACTIVE),
        ("In Progress", "Unavailable", Phase.ACTIVE),
        ("InProgress", "Degraded", Phase.ACTIVE),
        ("Updated", "Degraded", Phase.ACTIVE),
        ("Active", "Unknown", Phase.ACTIVE),
        ("Active", None, Phase.ACTIVE),
        ("Resolved", "Unavailable", Phase.RESOLVED),
        ("Resolved", "Available", Phase.RESOLVED),
        ("Active", "Available", Phase.RESOLVED),
        ("Updated", "Available", Phase.RESOLVED),
    ],
    ids=[
        "active",
        "in-progress",
        "inprogress",
        "updated",
        "unknown-health",
        "null-health",
        "resolved",
        "resolved-available",
        "available-again",
        "updated-available",
    ],
)
@pytest.mark.parametrize("schema", ["common", "legacy"])
def test_resource_health_closes_on_resolved_status_or_available_health(
    status: str, current: str | None, expected: Phase, schema: af.Schema
) -> None:
    """Resource Health is RESOLVED on status Resolved or health Available, otherwise ACTIVE."""
    payload = af.resource_health(status=status, current=current, schema=schema)

    actual = _parsed(payload)

    assert (expected, status, current or "") == (actual.phase, actual.status, actual.health)


@pytest.mark.parametrize(
    ("resource_id", "schema"),
    [
        (af.VI_RESOURCE_ID.upper(), "common"),
        (af.VI_RESOURCE_ID.upper(), "legacy"),
        (af.VI_RESOURCE_ID, "legacy"),
    ],
    ids=["common-upper", "legacy-upper", "legacy-mixed"],
)
def test_resource_ids_are_lower_cased(resource_id: str, schema: af.Schema) -> None:
    """Resource ids compare case-insensitively, so the key and resource_id are lower-cased."""
    payload = af.resource_health(resource_id=resource_id, schema=schema)

    actual = _parsed(payload)

    expected = (VI_KEY, VI_KEY)
    assert expected == (actual.key, actual.resource_id)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("properties", ("", "", "", "Active")),
        ("properties.currentHealthStatus", ("", RESOURCE_SIGNAL.title, "Downtime", "Active")),
        ("properties.title", ("Unavailable", "", "Downtime", "Active")),
        ("properties.type", ("Unavailable", RESOURCE_SIGNAL.title, "", "Active")),
        ("status", ("Unavailable", RESOURCE_SIGNAL.title, "Downtime", "")),
    ],
    ids=["properties", "currentHealthStatus", "title", "type", "status"],
)
def test_resource_health_null_fields_fall_back_to_empty(
    path: str, expected: tuple[str, str, str, str]
) -> None:
    """Null Resource Health fields become "" and the alert stays an ACTIVE signal."""
    payload = af.replaced(af.resource_health(), f"{SH}.{path}", None)

    actual = _parsed(payload)

    assert (Phase.ACTIVE, VI_KEY, *expected) == (
        actual.phase,
        actual.key,
        actual.health,
        actual.title,
        actual.incident_type,
        actual.status,
    )


# --- identity of an update ----------------------------------------------------------------


@pytest.mark.parametrize("schema", ["common", "legacy"])
def test_update_id_falls_back_from_communication_id_to_event_data_id(schema: af.Schema) -> None:
    """Without communicationId the update is identified by eventDataId."""
    base = af.service_health(schema=schema, communication_id=None)
    context = SH if schema == "common" else LEGACY
    payload = af.replaced(base, f"{context}.eventDataId", "7c2e9a41-0b3d-4f58-a6e7-91d2c4b8f035")

    actual = _parsed(payload)

    expected = ("7c2e9a41-0b3d-4f58-a6e7-91d2c4b8f035", "")
    assert expected == (actual.update_id, actual.communication_id)


@pytest.mark.parametrize(
    "payload",
    [
        af.deleted(af.service_health(communication_id=None), f"{SH}.eventDataId"),
        af.deleted(
            af.service_health(communication_id=None, schema="legacy"), f"{LEGACY}.eventDataId"
        ),
        af.resource_health(event_data_id=None),
        af.resource_health(event_data_id=None, schema="legacy"),
    ],
    ids=["sh-common", "sh-legacy", "rh-common", "rh-legacy"],
)
def test_update_without_ids_is_identified_by_a_stable_digest(payload: dict[str, object]) -> None:
    """With no communicationId or eventDataId the update id is a sha256 of the alert context."""
    first = _parsed(payload).update_id
    again = _parsed(copy.deepcopy(payload)).update_id

    assert (64, "", first) == (len(first), first.strip("0123456789abcdef"), again)


def test_digest_differs_when_the_alert_context_differs() -> None:
    """Two different id-less updates do not share a digest."""
    first = af.resource_health(event_data_id=None, current="Unavailable")
    second = af.resource_health(event_data_id=None, current="Degraded")

    actual = _parsed(first).update_id != _parsed(second).update_id

    assert actual


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({}, "Video Indexer - East US"),
        ({"title": None}, "Video Indexer - East US"),
        ({"title": None, "defaultLanguageTitle": "Fallback title"}, "Fallback title"),
        ({"title": None, "defaultLanguageTitle": None}, ""),
    ],
    ids=["title", "default-language-title", "default-language-title-differs", "neither"],
)
def test_title_falls_back_to_default_language_title_then_empty(
    edit: dict[str, object], expected: str
) -> None:
    """title, else defaultLanguageTitle, else ""."""
    payload = af.service_health()
    for key, value in edit.items():
        payload = af.replaced(payload, f"{SH}.properties.{key}", value)

    actual = _parsed(payload).title

    assert expected == actual


# --- synthetic test alerts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("IsSynthetic", "True", True),
        ("isSynthetic", "True", True),
        ("IsSynthetic", "true", True),
        ("IsSynthetic", True, True),
        ("IsSynthetic", "False", False),
        ("IsSynthetic", None, False),
        ("IsSynthetic", 1, False),
    ],
    ids=["IsSynthetic", "isSynthetic", "lower", "bool", "False", "null", "number"],
)
def test_synthetic_flag_is_read_from_either_spelling(
    key: str, value: object, expected: bool
) -> None:
    """IsSynthetic / isSynthetic "True" (any case) or true marks a test-button alert."""
    payload = af.replaced(af.service_health(), f"{SH}.properties.{key}", value)

    actual = _parsed(payload).synthetic

    assert expected == actual


@pytest.mark.parametrize("schema", ["common", "legacy"])
def test_test_button_alerts_are_synthetic(schema: af.Schema) -> None:
    """Test-button alerts (IsSynthetic in common, isSynthetic in legacy) parse as synthetic."""
    payload = af.service_health(
        schema=schema, synthetic=True, tracking_id="TEST-TTT", stage="Resolved"
    )

    actual = _parsed(payload)

    expected = (True, "TEST-TTT", Phase.RESOLVED)
    assert expected == (actual.synthetic, actual.key, actual.phase)


# --- timestamps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T10:00:00Z", T0),
        ("2026-11-20T10:00:00+00:00", T0),
        ("2026-11-20T10:00:00", T0),
        ("2026-11-20T10:00:00.123Z", T0.replace(microsecond=123000)),
        ("2026-11-20T10:00:00.123+00:00", T0.replace(microsecond=123000)),
        ("2026-11-20T10:00:00.123", T0.replace(microsecond=123000)),
        ("2026-11-20T10:00:00.1234567Z", T0.replace(microsecond=123456)),
        ("2026-11-20T10:00:00.1234567+00:00", T0.replace(microsecond=123456)),
        ("2026-11-20T10:00:00.1234567", T0.replace(microsecond=123456)),
        ("2026-11-20T10:00:00.0000000Z", T0),
        ("2026-11-20T12:00:00+02:00", T0),
        ("2026-11-20T05:00:00-0500", T0),
        ("2026-11-20 10:00:00z", T0),
        (" 2026-11-20T10:00:00Z\n", T0),
    ],
    ids=[
        "Z-0",
        "offset-0",
        "naive-0",
        "Z-3",
        "offset-3",
        "naive-3",
        "Z-7",
        "offset-7",
        "naive-7",
        "Z-7-zeros",
        "plus-two",
        "minus-five-no-colon",
        "space-lower-z",
        "padded",
    ],
)
def test_timestamps_parse_to_aware_utc(text: str, expected: datetime) -> None:
    """Z, +00:00 or no offset (UTC) with 0, 3 or 7 fraction digits → an aware UTC datetime."""
    actual = parse_timestamp(text)

    assert (expected, timedelta(0)) == (actual, actual.utcoffset())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-11-20",
        "2026-11-20T10:00",
        "2026-13-20T10:00:00Z",
        "2026-11-20T10:00:00+25:00",
        "٢٠٢٦-11-20T10:00:00Z",
    ],
    ids=["empty", "words", "date-only", "no-seconds", "month-13", "bad-offset", "arabic-digits"],
)
def test_bad_timestamps_are_rejected_naming_the_field(text: str) -> None:
    """A malformed timestamp raises InvalidAlertError that names the field."""
    with pytest.raises(InvalidAlertError) as info:
        parse_timestamp(text, field="data.alertContext.eventTimestamp")

    assert str(info.value).startswith("data.alertContext.eventTimestamp is not ")


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        ((), T0),
        (("eventTimestamp",), T0 + timedelta(seconds=30)),
        (("eventTimestamp", "submissionTimestamp"), T0 + timedelta(minutes=1)),
    ],
    ids=["eventTimestamp", "submissionTimestamp", "firedDateTime"],
)
def test_event_time_prefers_event_then_submission_then_fired_time(
    drop: tuple[str, ...], expected: datetime
) -> None:
    """eventTimestamp wins, then submissionTimestamp, then essentials.firedDateTime."""
    payload = af.service_health(submission_time="2026-11-20T10:00:30.000+00:00")
    payload = af.replaced(payload, "data.essentials.firedDateTime", "2026-11-20T10:01:00.0000000")
    for key in drop:
        payload = af.deleted(payload, f"{SH}.{key}")

    actual = _parsed(payload).event_time

    assert expected == actual


# --- invalid input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "body is not valid JSON: Expecting value at line 1 column 1"),
        (b"not json", "body is not valid JSON: Expecting value at line 1 column 1"),
        (b'{"schemaId": ', "body is not valid JSON: Expecting value at line 1 column 14"),
        (b"\xff\xfe{}", "body is not valid UTF-8: invalid start byte at byte 0"),
        (b"[" * 100_000, "body is not valid JSON: nested too deeply"),
        (b"[]", "the alert must be an object, got array"),
        (b'"alert"', "the alert must be an object, got string"),
        (b"null", "the alert must be an object, got null"),
    ],
    ids=[
        "empty",
        "not-json",
        "truncated",
        "invalid-utf8",
        "deep-nesting",
        "array",
        "string",
        "null",
    ],
)
def test_bodies_that_are_not_a_json_object_are_invalid(body: bytes, expected: str) -> None:
    """Bodies that are not UTF-8 JSON objects raise InvalidAlertError saying what is wrong."""
    with pytest.raises(InvalidAlertError) as info:
        parse_alert_body(body)

    assert expected == str(info.value)


def test_a_utf8_byte_order_mark_is_tolerated() -> None:
    """A body starting with a UTF-8 BOM parses like one without."""
    body = b"\xef\xbb\xbf" + af.to_body(af.service_health())

    actual = parse_alert_body(body)

    expected = SERVICE_SIGNAL
    assert expected == actual


P = f"{SH}.properties"
LP = f"{LEGACY}.properties"
IS = f"{P}.impactedServices"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({}, "schemaId is missing"),
        ({"schemaId": None}, "schemaId is null"),
        ({"schemaId": 7}, "schemaId must be a string, got number"),
        ({"schemaId": " "}, "schemaId is empty"),
        ({"schemaId": "azureMonitorCommonAlertSchema"}, "data is missing"),
        (
            {"schemaId": "azureMonitorCommonAlertSchema", "data": []},
            "data must be an object, got array",
        ),
        (af.deleted(af.metric_alert(), "data.essentials"), "data.essentials is missing"),
        (af.replaced(af.metric_alert(), "data.essentials", None), "data.essentials is null"),
        (
            af.replaced(af.metric_alert(), "data.essentials", "x"),
            "data.essentials must be an object, got string",
        ),
        (
            af.replaced(af.metric_alert(), "data.essentials.monitoringService", 3),
            "data.essentials.monitoringService must be a string, got number",
        ),
        (af.deleted(af.service_health(), SH), "data.alertContext is missing"),
        (af.replaced(af.service_health(), f"{SH}.properties", None), f"{P} is null"),
        (af.deleted(af.service_health(), f"{P}.trackingId"), f"{P}.trackingId is missing"),
        (af.service_health(tracking_id=""), f"{P}.trackingId is empty"),
        (
            af.replaced(af.service_health(), f"{P}.trackingId", 42),
            f"{P}.trackingId must be a string, got number",
        ),
        (
            af.deleted(af.service_health(schema="legacy"), f"{LP}.trackingId"),
            f"{LP}.trackingId is missing",
        ),
        (af.deleted(af.security_alert(), "data.context"), "data.context is missing"),
        (
            af.replaced(af.security_alert(), "data.context.activityLog", 1),
            f"{LEGACY} must be an object, got number",
        ),
        (
            af.replaced(af.service_health(schema="legacy"), f"{LEGACY}.eventSource", True),
            f"{LEGACY}.eventSource must be a string, got boolean",
        ),
        (
            af.replaced(af.service_health(), IS, "[{"),
            f"{IS} is not valid JSON: Expecting property name enclosed in double quotes"
            " at line 1 column 3",
        ),
        (
            af.replaced(af.service_health(), IS, '{"ServiceName": "x"}'),
            f"{IS} must be an array, got object",
        ),
        (af.replaced(af.service_health(), IS, 5), f"{IS} must be an array, got number"),
        (af.replaced(af.service_health(), IS, [5]), f"{IS}[0] must be an object, got number"),
        (
            af.replaced(af.service_health(), IS, [{"ServiceName": 5}]),
            f"{IS}[0].ServiceName must be a string, got number",
        ),
        (af.replaced(af.service_health(), IS, [{}]), f"{IS}[0].ServiceName is missing"),
        (
            af.replaced(
                af.service_health(), IS, '[{"ServiceName": "VI", "ImpactedRegions": "East US"}]'
            ),
            f"{IS}[0].ImpactedRegions must be an array, got string",
        ),
        (
            af.replaced(
                af.service_health(),
                IS,
                [{"ServiceName": "VI", "ImpactedRegions": [{"RegionName": None}]}],
            ),
            f"{IS}[0].ImpactedRegions[0].RegionName is null",
        ),
        (
            af.replaced(
                af.service_health(), IS, [{"ServiceName": "VI", "ImpactedRegions": ["East US"]}]
            ),
            f"{IS}[0].ImpactedRegions[0] must be an object, got string",
        ),
        (
            af.service_health(stage="Mystery", status="Weird"),
            f"{P}.stage 'Mystery' and {SH}.status 'Weird' name no known phase",
        ),
        (
            af.replaced(af.service_health(), f"{SH}.status", 1),
            f"{SH}.status must be a string, got number",
        ),
        (
            af.replaced(af.service_health(), f"{P}.title", 5),
            f"{P}.title must be a string, got number",
        ),
        (
            af.replaced(af.service_health(), f"{SH}.eventTimestamp", "last Tuesday"),
            f"{SH}.eventTimestamp is not an ISO 8601 date and time: 'last Tuesday'",
        ),
        (
            af.replaced(af.service_health(), f"{SH}.eventTimestamp", 1763632800),
            f"{SH}.eventTimestamp must be a string, got number",
        ),
        (
            af.deleted(
                af.deleted(af.service_health(schema="legacy"), f"{LEGACY}.eventTimestamp"),
                f"{LEGACY}.submissionTimestamp",
            ),
            f"{LEGACY}.eventTimestamp is missing, and so is every fallback",
        ),
        (
            af.replaced(af.resource_health(), "data.essentials.alertTargetIDs", None),
            "data.essentials.alertTargetIDs is missing, null or empty",
        ),
        (
            af.replaced(af.resource_health(), "data.essentials.alertTargetIDs", []),
            "data.essentials.alertTargetIDs is missing, null or empty",
        ),
        (
            af.replaced(af.resource_health(), "data.essentials.alertTargetIDs", "/subscriptions/x"),
            "data.essentials.alertTargetIDs must be an array, got string",
        ),
        (
            af.replaced(af.resource_health(), "data.essentials.alertTargetIDs", [None]),
            "data.essentials.alertTargetIDs[0] must be a resource id, got null",
        ),
        (
            af.deleted(af.resource_health(schema="legacy"), f"{LEGACY}.resourceId"),
            f"{LEGACY}.resourceId is missing",
        ),
        (
            af.replaced(af.resource_health(), f"{SH}.properties", ["Unavailable"]),
            f"{P} must be an object, got array",
        ),
    ],
    ids=[
        "no-schemaId",
        "null-schemaId",
        "numeric-schemaId",
        "blank-schemaId",
        "no-data",
        "data-array",
        "no-essentials",
        "null-essentials",
        "essentials-string",
        "monitoringService-number",
        "no-alertContext",
        "null-properties",
        "no-trackingId",
        "empty-trackingId",
        "numeric-trackingId",
        "legacy-no-trackingId",
        "legacy-no-context",
        "legacy-activityLog-number",
        "legacy-eventSource-bool",
        "impactedServices-unparsable",
        "impactedServices-object-text",
        "impactedServices-number",
        "service-entry-number",
        "service-name-number",
        "service-name-missing",
        "regions-text",
        "region-name-null",
        "region-entry-text",
        "unknown-stage-and-status",
        "status-number",
        "title-number",
        "bad-timestamp",
        "numeric-timestamp",
        "no-timestamps",
        "rh-targets-null",
        "rh-targets-empty",
        "rh-targets-string",
        "rh-target-null",
        "rh-legacy-no-resourceId",
        "rh-properties-array",
    ],
)
def test_malformed_alerts_are_invalid_and_the_message_names_the_field(
    payload: object, expected: str
) -> None:
    """Structurally wrong alerts raise InvalidAlertError whose message names the field path."""
    actual = _error(payload)

    assert expected == actual


# --- examples shipped for the README demo -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "servicehealth-incident-eastus.json",
            (SignalKind.SERVICE_HEALTH, "VT0X-1AB", Phase.ACTIVE),
        ),
        (
            "servicehealth-incident-eastus-resolved.json",
            (SignalKind.SERVICE_HEALTH, "VT0X-1AB", Phase.RESOLVED),
        ),
        ("metric-alert.json", None),
    ],
    ids=["incident", "resolved", "metric"],
)
def test_example_payloads_parse_as_their_names_say(name: str, expected: object) -> None:
    """Each examples/ file parses to the kind and phase the README demo relies on."""
    result = parse_alert_body((EXAMPLES / name).read_bytes())

    actual = None if isinstance(result, NotOurs) else (result.kind, result.key, result.phase)

    assert expected == actual


def test_resolved_example_is_a_later_update_of_the_same_incident() -> None:
    """The resolved example shares the trackingId but is a newer, different update."""
    active = _parsed(json.loads((EXAMPLES / "servicehealth-incident-eastus.json").read_text()))
    resolved = _parsed(
        json.loads((EXAMPLES / "servicehealth-incident-eastus-resolved.json").read_text())
    )

    actual = (
        resolved.key == active.key,
        resolved.update_id != active.update_id,
        resolved.event_time > active.event_time,
    )

    expected = (True, True, True)
    assert expected == actual


# --- properties ---------------------------------------------------------------------------

JSON_KEYS = st.sampled_from(
    [
        "schemaId",
        "data",
        "essentials",
        "alertContext",
        "monitoringService",
        "properties",
        "trackingId",
        "impactedServices",
        "ServiceName",
        "ImpactedRegions",
        "RegionName",
        "eventTimestamp",
        "eventSource",
        "context",
        "activityLog",
        "status",
        "stage",
    ]
) | st.text(max_size=8)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "azureMonitorCommonAlertSchema",
            "Microsoft.Insights/activityLogs",
            "ServiceHealth",
            "Resource Health",
            "ResourceHealth",
            "Resolved",
            "2026-11-20T10:00:00Z",
            "[]",
            "[{",
        ]
    )
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(JSON_KEYS, children, max_size=5)
    ),
    max_leaves=20,
)
SHAPES = [
    af.service_health(),
    af.service_health(schema="legacy", impacted_as="array", synthetic=True),
    af.service_health(numeric_enums=True, stage=None, communication_id=None),
    af.resource_health(),
    af.resource_health(schema="legacy", event_data_id=None),
    af.metric_alert(),
    af.budget_alert(),
    af.security_alert(),
]


def _assert_only_documented_outcomes(payload: object) -> None:
    try:
        result = parse_alert(payload)
    except InvalidAlertError:
        return
    assert isinstance(result, Signal | NotOurs)
    if isinstance(result, Signal):
        assert timedelta(0) == result.event_time.utcoffset()
        assert result.key


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into a JSON value, the value itself (the empty path) first."""
    found: list[tuple[str | int, ...]] = [prefix]
    children: list[tuple[str | int, object]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    for key, child in children:
        found += _paths(child, (*prefix, key))
    return found


_DROP = object()  # as a replacement value: delete the field instead


def _mutate(value: object, path: tuple[str | int, ...], new: object) -> object:
    """A copy of `value` with the node at `path` replaced by `new`, or removed for _DROP."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        pairs = [(k, _mutate(v, rest, new) if k == head else v) for k, v in value.items()]
        return {k: v for k, v in pairs if v is not _DROP}
    assert isinstance(value, list), value
    items = [_mutate(v, rest, new) if i == head else v for i, v in enumerate(value)]
    return [v for v in items if v is not _DROP]


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_arbitrary_json_is_a_signal_not_ours_or_invalid(payload: object) -> None:
    """Any JSON value parses, is set aside, or raises InvalidAlertError — nothing else."""
    _assert_only_documented_outcomes(payload)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_are_a_signal_not_ours_or_invalid(body: bytes) -> None:
    """Any byte string parses, is set aside, or raises InvalidAlertError — nothing else."""
    with contextlib.suppress(InvalidAlertError):
        parse_alert_body(body)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_real_payloads_are_a_signal_not_ours_or_invalid(data: st.DataObject) -> None:
    """Real-shaped alerts with fields deleted or replaced by junk never raise anything else."""
    payload: object = data.draw(st.sampled_from(SHAPES))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(_paths(payload)))
        delete = bool(path) and data.draw(st.booleans())
        payload = _mutate(payload, path, _DROP if delete else data.draw(JSON_VALUES))

    _assert_only_documented_outcomes(payload)
