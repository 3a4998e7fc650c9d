"""`azure.functions.HttpRequest`s built as the Functions host builds them, and their answers."""

from __future__ import annotations

import json

import azure.functions as func


def request(
    method: str,
    route: str,
    *,
    body: bytes = b"",
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> func.HttpRequest:
    """A request to `/api/<route>` with a JSON content type, as the host hands it over."""
    return func.HttpRequest(
        method=method,
        url=f"http://127.0.0.1:7071/api/{route}",
        headers={"content-type": "application/json", **(headers or {})},
        params=params or {},
        route_params={},
        body=body,
    )


def body_of(response: func.HttpResponse) -> dict[str, object]:
    """The JSON body of a response."""
    value = json.loads(response.get_body())
    assert isinstance(value, dict)
    return value
