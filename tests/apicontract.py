"""The API document as the tests' oracle: every answer a test receives from the app over HTTP
is checked against `shared/http/openapi.json` — its status is listed for the route, its JSON body
matches the schema, its required headers are there — so each end-to-end test checks the
document too, and the document cannot drift from the app unnoticed."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shared.http.openapi import DOCUMENT_PATH

DOCUMENT: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
_URI = "urn:vi-failover:openapi"
_REGISTRY: Registry[Any] = Registry().with_resource(
    _URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)
# The app's own routes; the host's admin API (/admin/...) is the platform's, not documented.
ROUTE_PREFIX = "/api/"


class ContractError(AssertionError):
    """An answer the API document does not allow; the message names the route and the break."""


def check(method: str, path: str, status: int, headers: Mapping[str, str], body: bytes) -> None:
    """Raise ContractError when this answer to `method path` breaks the document."""
    where = f"{method.upper()} {path} answered {status}"
    operation = DOCUMENT["paths"].get(path, {}).get(method.lower())
    if operation is None:
        raise ContractError(f"{where}, but the API document has no {method.upper()} {path}")
    pointer = f"/paths/{_escape(path)}/{method.lower()}/responses"
    responses = operation["responses"]
    key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None)
    if key is None:
        raise ContractError(f"{where}, which the API document does not list ({sorted(responses)})")
    pointer, response = _follow(f"{pointer}/{key}", responses[key])
    _check_headers(where, pointer, response, headers)
    content = response.get("content")
    if status == 401 and not body and _asks_for_a_key(operation):
        return  # the platform's own refusal of a missing or wrong key: empty, before the app
    if content is None:
        if body:
            raise ContractError(f"{where} with a body, where the document has none: {body[:200]!r}")
        return
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in content:
        raise ContractError(f"{where} as {media_type!r}; the document has {sorted(content)}")
    if "schema" not in content[media_type] or not media_type.endswith("json"):
        return  # a page (text/html): its media type is the contract
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ContractError(f"{where} with a body that is not JSON: {body[:200]!r}") from exc
    schema_pointer = f"{pointer}/content/{_escape(media_type)}/schema"
    problems = [
        f"{'/'.join(map(str, e.path)) or '(body)'}: {e.message}"
        for e in _validator(schema_pointer).iter_errors(value)
    ]
    if problems:
        listed = "; ".join(sorted(problems))
        raise ContractError(f"{where}, breaking the document's schema: {listed}")


def check_response(response: requests.Response, *args: object, **kwargs: object) -> None:
    """A `requests` response hook: check each answer of an app route against the document."""
    path = urlsplit(response.url).path
    if path.startswith(ROUTE_PREFIX):
        method = response.request.method or "GET"
        check(method, path, response.status_code, response.headers, response.content)


def checked(request: func.HttpRequest, response: func.HttpResponse) -> func.HttpResponse:
    """A handler's `response` to `request`, once checked against the document as the host
    would send it (its Content-Type from the mimetype unless a header sets one)."""
    headers = requests.structures.CaseInsensitiveDict(response.headers)
    headers.setdefault("Content-Type", str(response.mimetype))
    path = urlsplit(request.url).path
    check(request.method, path, response.status_code, headers, response.get_body())
    return response


_HOOKS = {"response": [check_response]}


def get(url: str, *, timeout: float = 30, **kwargs: Any) -> requests.Response:
    """`requests.get`, its answer checked against the API document."""
    return requests.get(url, timeout=timeout, hooks=_HOOKS, **kwargs)


def post(url: str, *, timeout: float = 30, **kwargs: Any) -> requests.Response:
    """`requests.post`, its answer checked against the API document."""
    return requests.post(url, timeout=timeout, hooks=_HOOKS, **kwargs)


class ContractSession(requests.Session):
    """A `requests.Session` whose every answer from an app route is checked against the API
    document (a ContractError fails the test that received it)."""

    def __init__(self) -> None:
        super().__init__()
        self.hooks["response"].append(check_response)


def _check_headers(
    where: str, pointer: str, response: Mapping[str, Any], headers: Mapping[str, str]
) -> None:
    for name, declared in response.get("headers", {}).items():
        header_pointer, header = _follow(f"{pointer}/headers/{_escape(name)}", declared)
        value = headers.get(name)
        if value is None:
            if header.get("required", False):
                raise ContractError(f"{where} without the {name} header the document requires")
            continue
        for problem in _validator(f"{header_pointer}/schema").iter_errors(value):
            raise ContractError(f"{where} with {name}: {value!r}: {problem.message}")


def _asks_for_a_key(operation: Mapping[str, Any]) -> bool:
    """True when the platform checks a key for this operation (its security lists one)."""
    return any("Key" in scheme for r in operation.get("security", []) for scheme in r)


def _follow(pointer: str, node: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """A response or header object and its pointer, past any `$ref` (local ones only)."""
    while "$ref" in node:
        pointer = node["$ref"].removeprefix("#")
        node = _REGISTRY.resolver(_URI).lookup(f"#{pointer}").contents
    return pointer, node


@functools.cache
def _validator(pointer: str) -> Draft202012Validator:
    """A validator of the schema at `pointer` in the document, built once; formats asserted."""
    return Draft202012Validator(
        {"$ref": f"{_URI}#{pointer}"},
        registry=_REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
