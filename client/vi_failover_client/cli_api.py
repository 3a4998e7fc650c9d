"""The CLI's side of the HTTP API: which credential each route gets, and errors with exit codes.

- Read routes (`active-account`, `status`, `history`) get the readers' function key
  (VI_FAILOVER_KEY) and never the master key.
- `POST /api/failover` gets a Microsoft Entra ID token for VI_FAILOVER_AUDIENCE (scope
  `<audience>/.default`, from DefaultAzureCredential, so `az login` works); the server checks it
  carries the app role `Failover.Operator`. Without an audience, VI_FAILOVER_MASTER_KEY is
  break-glass: `POST /api/failover/break-glass` with the master key. Without either, the request
  goes without a credential (a local stack that enforces no keys).
- `POST /api/alerts` (drills) gets the alerts function key (VI_FAILOVER_ALERT_KEY) and the shared
  secret as `?token=` (VI_FAILOVER_ALERT_TOKEN), as the action group would send them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import requests
from azure.core.credentials import TokenCredential

from vi_failover_client.cli_output import Json
from vi_failover_client.credentials import default_credential
from vi_failover_client.settings import Secret
from vi_failover_client.urls import require_secure

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3
EXIT_NOT_FOUND, EXIT_UNSAFE, EXIT_WATCH_TIMEOUT = 4, 5, 6
OPERATOR_ROLE = "Failover.Operator"
Route = Literal["read", "write", "alert"]


@dataclass
class CliError(Exception):
    """A command failed; `exit_code` says how, `message` (and `hint`) say why."""

    exit_code: int
    message: str
    hint: str = ""
    code: str = ""  # the server's error code, when it gave one
    status: int | None = None


@dataclass
class Credentials:
    """What the CLI may send, from VI_FAILOVER_*; every value hidden from repr."""

    key: Secret | None = None
    audience: str | None = None
    master_key: Secret | None = None
    alert_key: Secret | None = None
    alert_token: Secret | None = None
    credential: TokenCredential | None = field(default=None, repr=False)
    _bearer: str | None = field(default=None, repr=False)

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for the output to scrub."""
        values = [self.key, self.master_key, self.alert_key, self.alert_token]
        return tuple(v.reveal() for v in values if v is not None) + (
            (self._bearer,) if self._bearer else ()
        )

    def write_route(self) -> tuple[str, dict[str, str]]:
        """The failover route and its headers: an Entra ID token, else break-glass, else none."""
        if self.audience:
            scope = self.audience.rstrip("/")
            scope = scope if scope.endswith("/.default") else f"{scope}/.default"
            credential = self.credential or default_credential()
            try:
                self._bearer = credential.get_token(scope).token
            except Exception as exc:  # noqa: BLE001 - azure-identity raises many kinds: "sign in"
                raise CliError(
                    EXIT_ERROR,
                    f"cannot get a token for {self.audience} ({type(exc).__name__})",
                    "sign in with `az login` (or a managed identity) as someone holding the app "
                    f"role {OPERATOR_ROLE}",
                ) from None
            return "failover", {"Authorization": f"Bearer {self._bearer}"}
        if self.master_key is not None:
            return "failover/break-glass", {"x-functions-key": self.master_key.reveal()}
        return "failover", {}


@dataclass
class Api:
    """The function app's HTTP API: every call has a timeout and its route's credential."""

    bases: tuple[str, ...]
    credentials: Credentials
    timeout: float
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def base(self) -> str:
        """The first API base: where writes go first, and what messages name."""
        return self.bases[0]

    def call(
        self,
        method: str,
        route: str,
        timeout: float | None = None,
        *,
        kind: Route = "read",
        auth: dict[str, str] | None = None,
        **kw: Any,
    ) -> requests.Response:
        """`method /route` at each base in turn while one is unreachable; errors as CliError."""
        headers = {"User-Agent": "vi-failover-cli", **kw.pop("headers", {}), **self._auth(kind)}
        headers.update(auth or {})
        if kind == "alert" and self.credentials.alert_token is not None:
            kw["params"] = {**kw.get("params", {}), "token": self.credentials.alert_token.reveal()}
        if any(name.lower() in ("authorization", "x-functions-key") for name in headers):
            for base in self.bases:
                require_secure(base, setting="--url / VI_FAILOVER_URL")
        down: CliError | None = None
        for base in self.bases:
            try:
                return self._one(base, method, route, timeout, headers, kw)
            except CliError as exc:
                # Another deployment may answer; a timed-out write may have landed, so stop.
                if exc.status is not None or (method != "GET" and "no answer" in exc.message):
                    raise
                down = exc
        assert down is not None  # noqa: S101 - there is at least one base
        raise down

    def _auth(self, kind: Route) -> dict[str, str]:
        creds = self.credentials
        secret = {"read": creds.key, "alert": creds.alert_key}.get(kind)
        return {"x-functions-key": secret.reveal()} if secret is not None else {}

    def _one(
        self,
        base: str,
        method: str,
        route: str,
        timeout: float | None,
        headers: dict[str, str],
        kw: dict[str, Any],
    ) -> requests.Response:
        seconds = timeout or self.timeout
        try:
            response = self.session.request(
                method,
                f"{base}/{route}",
                headers=headers,
                timeout=(min(5.0, seconds), seconds),
                allow_redirects=False,  # a redirect to another host would take the key along
                **kw,
            )
        except requests.Timeout:
            raise CliError(EXIT_UNAVAILABLE, f"no answer from {base} in {seconds:g}s") from None
        except requests.RequestException as exc:
            found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
            why = found.group(1) if found else type(exc).__name__
            raise CliError(EXIT_UNAVAILABLE, f"cannot reach {base}: {why}") from None
        if response.status_code >= 300 and response.status_code != 304:
            raise error_of(response, route)
        return response

    def json(self, method: str, route: str, **kw: Any) -> Json:
        """The JSON object a call answers."""
        return self.body(self.call(method, route, **kw), route)

    @staticmethod
    def body(response: requests.Response, route: str) -> Json:
        """A response's JSON object; anything else is an error."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise CliError(EXIT_ERROR, f"{response.status_code} from {route} is not a JSON object")
        return body


def error_of(response: requests.Response, route: str) -> CliError:
    """The CliError for a refused request, with the server's code and message, and a hint."""
    status, code, message = response.status_code, "", " ".join(response.text.split())[:300]
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code, message = str(body.get("error") or ""), str(body.get("message") or "")
    text = f"{status} {code or response.reason}" + (f": {message}" if message else "")
    if status >= 500 or status in (408, 429):
        retry = response.headers.get("Retry-After")
        unit = " s" if retry and retry.isdigit() else ""  # else an HTTP date
        suffix = f" (Retry-After: {retry}{unit})" if retry else ""
        return CliError(EXIT_UNAVAILABLE, text + suffix, code=code, status=status)
    if code.startswith("Unknown"):
        return CliError(EXIT_NOT_FOUND, text, code=code, status=status)
    if status == 409 and code == "UnsafeTarget":
        return CliError(EXIT_UNSAFE, text, "add --force to move there anyway", code, status)
    writing = route.startswith("failover")
    hints = {
        404: "check --url: it is the API base, such as https://<app>.azurewebsites.net/api",
        401: _write_hint() if writing else "check VI_FAILOVER_KEY: the readers' function key",
        403: f"your identity needs the app role {OPERATOR_ROLE}"
        if writing
        else "check VI_FAILOVER_KEY: the readers' function key",
    }
    if route == "alerts":
        hints[401] = hints[403] = "check VI_FAILOVER_ALERT_KEY and VI_FAILOVER_ALERT_TOKEN"
    if 300 <= status < 400:
        where = urlsplit(response.headers.get("Location", ""))
        text += f" to {urlunsplit((where.scheme, where.netloc, where.path, '', ''))}"
        hints[status] = "use the target as --url"
    return CliError(EXIT_ERROR, text, hints.get(status, ""), code, status)


def _write_hint() -> str:
    return (
        "set VI_FAILOVER_AUDIENCE (the app registration's Application ID URI) and sign in with "
        f"`az login` as someone holding the app role {OPERATOR_ROLE}; VI_FAILOVER_MASTER_KEY is "
        "for break-glass only"
    )
