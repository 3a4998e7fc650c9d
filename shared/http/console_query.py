"""The query parameters of `GET /api/groups`; every error names its parameter, and a parameter
the route does not know is an error too (a mistyped filter must not quietly show every
group)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from shared.core.listing import GroupFilter, PageQuery
from shared.http.requests import InvalidRequestError

MAX_SEARCH = 100
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
MAX_TIMELINE = 50
DEFAULT_TIMELINE = 10
# `code` is the function key, which the Functions host leaves among the parameters.
KNOWN = frozenset({"search", "filter", "page", "pageSize", "timeline", "code"})
_DIGITS = re.compile(r"[0-9]{1,7}")
_FILTERS = ", ".join(f.value for f in GroupFilter)


def parse_page_query(params: Mapping[str, str]) -> PageQuery:
    """The page a console asks for, or InvalidRequestError naming the bad parameter."""
    if unknown := sorted(set(params) - KNOWN):
        allowed = ", ".join(sorted(KNOWN - {"code"}))
        raise InvalidRequestError(f"{unknown[0]}: unknown parameter (allowed: {allowed})")
    search = params.get("search") or ""
    if len(search) > MAX_SEARCH:
        raise InvalidRequestError(f"search: at most {MAX_SEARCH} characters")
    return PageQuery(
        search=search,
        filter=_filter(params.get("filter")),
        page=_number(params, "page", 1, MAX_PAGE, 1),
        page_size=_number(params, "pageSize", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE),
        timeline=_number(params, "timeline", 0, MAX_TIMELINE, DEFAULT_TIMELINE),
    )


def _filter(raw: str | None) -> GroupFilter | None:
    if not raw:
        return None
    try:
        return GroupFilter(raw)
    except ValueError:
        raise InvalidRequestError(f"filter: {raw!r} is not one of {_FILTERS}") from None


def _number(params: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidRequestError(f"{name}: {raw!r} must be a whole number from {low} to {high}")
    return int(raw)
