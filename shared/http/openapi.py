"""GET /api/openapi.json: the OpenAPI 3.1 document of every route, kept beside this module as
`openapi.json` (deployed with the package) and read on the first request that asks for it."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import azure.functions as func

from shared.http.views import etag_matches

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
# The document changes only with a deployment; caches revalidate with the ETag after this.
CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True)
class ApiDocument:
    """The document's bytes as served, and their strong ETag."""

    body: bytes
    etag: str

    @classmethod
    def read(cls, path: Path = DOCUMENT_PATH) -> ApiDocument:
        """The document at `path`, with an ETag of its content."""
        body = path.read_bytes()
        return cls(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')

    def response(self, if_none_match: str | None) -> func.HttpResponse:
        """200 with the document, or 304 when `if_none_match` names its ETag."""
        headers = {"ETag": self.etag, "Cache-Control": CACHE_CONTROL}
        if etag_matches(if_none_match, self.etag):
            return func.HttpResponse(status_code=304, headers=headers)
        return func.HttpResponse(
            self.body, status_code=200, headers=headers, mimetype="application/json"
        )


@functools.cache
def api_document() -> ApiDocument:
    """The deployed document, read once."""
    return ApiDocument.read()
