"""The operator console: one HTML page, its style and script inline, read from `assets/` once.

The page holds no key and no data: its script reads `GET /api/groups` one page at a time with
the key the user brought (the page URL's `code`, or one typed into its form). The Content
Security Policy allows only the page's own inline style and script (by hash) and requests to
this origin, so nothing is fetched from elsewhere and nothing is sent elsewhere.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path

import azure.functions as func

ASSETS = Path(__file__).resolve().parent / "assets"


@functools.cache
def console_page() -> tuple[bytes, dict[str, str]]:
    """The page's bytes and the headers it is served with."""
    style = (ASSETS / "console.css").read_text(encoding="utf-8")
    script = (ASSETS / "console.js").read_text(encoding="utf-8")
    template = (ASSETS / "console.html").read_text(encoding="utf-8")
    page = template.replace("@@STYLE@@", style).replace("@@SCRIPT@@", script)
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src '{_sha256(script)}'",
            f"style-src '{_sha256(style)}'",
            "connect-src 'self'",
            "img-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    headers = {
        "Content-Security-Policy": policy,
        # The key may sit in the page's URL: no link may carry it away.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return page.encode("utf-8"), headers


def console_response() -> func.HttpResponse:
    """GET /api/console: the page."""
    body, headers = console_page()
    return func.HttpResponse(
        body, status_code=200, headers=headers, mimetype="text/html", charset="utf-8"
    )


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
