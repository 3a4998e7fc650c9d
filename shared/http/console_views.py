"""JSON view of a page of groups for `GET /api/groups`, and links to the Azure portal. Pure."""

from __future__ import annotations

import hashlib
import json
from typing import cast

from shared.app.listing import GroupEntry, GroupPage
from shared.core.model import Group, SignalKind
from shared.http.views import history_view, state_view

# A Service Health issue, by tracking id: "https://app.azure.com/h/<trackingId>/<first three
# and last three digits of subscriptionId>", documented in "Use a webhook to configure health
# notifications for problem management systems", section "Create a link to the Service Health
# dashboard for an incident":
# https://learn.microsoft.com/en-us/azure/service-health/service-health-alert-webhook-guide
SERVICE_HEALTH_ISSUE = "https://app.azure.com/h/{tracking_id}/{subscription}"
# The Service Health blade's service issues, as Azure's own docs link it (e.g. the Teams and
# webhook guides' "For details, log in to the Azure Service Health dashboard"): for Resource
# Health incidents, which have no tracking id.
SERVICE_HEALTH_BLADE = (
    "https://portal.azure.com/#blade/Microsoft_Azure_Health/AzureHealthBrowseBlade/serviceIssues"
)


def page_view(page: GroupPage) -> dict[str, object]:
    """Body of GET /api/groups, without its `time` (see `etag_of_page`)."""
    query = page.query
    return {
        "search": query.search,
        "filter": query.filter.value if query.filter else None,
        "page": query.page,
        "pageSize": query.page_size,
        "total": page.total,
        "pages": page.pages,
        "configured": page.configured,
        "groups": [_entry_view(page, entry) for entry in page.entries],
    }


def etag_of_page(view: dict[str, object]) -> str:
    """A strong ETag of the page's content: the same groups in the same state, the same tag."""
    text = json.dumps(view, sort_keys=True, ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def portal_url(group: Group, kind: str, key: str, impacted: list[str]) -> str:
    """Where an operator reads about an incident in the Azure portal."""
    if kind != SignalKind.SERVICE_HEALTH.value:
        return SERVICE_HEALTH_BLADE
    # The issue is shown in the subscriptions it impacts: those of the group's impacted
    # accounts, else of its primary.
    accounts = [a for a in group.accounts if a.name in impacted] or list(group.accounts)
    subscription = _subscription(accounts[0].resource_id)
    if not subscription or not key:
        return SERVICE_HEALTH_BLADE
    short = subscription[:3] + subscription[-3:]
    return SERVICE_HEALTH_ISSUE.format(tracking_id=_path_safe(key), subscription=short)


def _entry_view(page: GroupPage, entry: GroupEntry) -> dict[str, object]:
    view = state_view(entry.group, entry.state, page.time, detail=True)
    links = {
        i.key: portal_url(entry.group, i.kind.value, i.key, sorted(i.impacted))
        for i in entry.state.incidents.values()
    }
    for name in ("openIncidents", "closedIncidents"):
        for incident in cast("list[dict[str, object]]", view[name]):
            incident["portalUrl"] = links.get(str(incident["key"]), SERVICE_HEALTH_BLADE)
    view["timeline"] = history_view(list(entry.timeline))["records"]
    return view


def _subscription(resource_id: str) -> str:
    parts = resource_id.split("/")
    return parts[2] if len(parts) > 2 and parts[1].lower() == "subscriptions" else ""


def _path_safe(text: str) -> str:
    """A tracking id as one URL path segment (they are letters, digits and hyphens)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in text)
