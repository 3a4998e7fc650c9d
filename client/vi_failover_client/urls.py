"""Where the client may send a key or a token: one reading of an API base, and the transport rules.

A key, SAS or token travels only over https, except to the loopback interface (127.0.0.1, ::1,
localhost), and only to the host that was configured for it. Messages name the setting and the
host, never the URL's query or credentials.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

LOOPBACK_NAMES = frozenset({"localhost"})


class InsecureURLError(ValueError):
    """A key or token would travel in clear, or to another host than the one configured."""


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only hosts plain http may carry a secret to."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_secure(url: str, *, setting: str) -> None:
    """Raise unless `url` is https, or http to the loopback interface."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback(parts.hostname)):
        return
    raise InsecureURLError(
        f"{setting}: https is required to send a key or token to {parts.hostname or '?'}; "
        "plain http is allowed only for 127.0.0.1, ::1 and localhost"
    )


def safe_url(url: str) -> str:
    """The URL without credentials, query or fragment, for labels and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def api_base(raw: str, *, setting: str) -> str:
    """The app's API base from a URL as people write it: a bare host gets `/api`.

    `https://app.azurewebsites.net` and `https://app.azurewebsites.net/api/` both give
    `https://app.azurewebsites.net/api`. A query (`?code=`) or `user:password@` is refused without
    echoing it: the key goes in its own setting.
    """
    parts = urlsplit(raw.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{setting}: give the API base, e.g. https://<app>.azurewebsites.net/api")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{setting}: leave the key out of the URL; give it in its own setting")
    path = parts.path.rstrip("/") or "/api"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def service_base(raw: str, *, setting: str) -> str:
    """The origin of ARM or the VI API (`https://management.azure.com`): scheme and host only."""
    parts = urlsplit(raw.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{setting}: give an origin such as https://management.azure.com")
    if parts.path.strip("/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{setting}: give the origin only (scheme and host), without a path")
    base = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "", "", ""))
    require_secure(base, setting=setting)
    return base


def same_origin(url: str, base: str) -> bool:
    """True when `url` goes to exactly the scheme, host and port of `base`."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme.lower(), a.hostname, _port(a.scheme, a.port)) == (
        b.scheme.lower(),
        b.hostname,
        _port(b.scheme, b.port),
    )


def _port(scheme: str, port: int | None) -> int:
    return port if port is not None else 443 if scheme.lower() == "https" else 80
