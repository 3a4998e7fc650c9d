"""`vi-failover`: the operator's command line for the vi-failover function app's HTTP API."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from vi_failover_client import alerts
from vi_failover_client import cli_output as view
from vi_failover_client.cli_output import Json, Output

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3
EXIT_NOT_FOUND, EXIT_UNSAFE, EXIT_WATCH_TIMEOUT = 4, 5, 6
DESCRIPTION = "Operate vi-failover: see and move the active Video Indexer account of each group."
ADMIN_NOTE = "Needs the admin (master) key in Azure: the failover function's auth level is admin."
KEY_NOTE = "failover and unpin need the admin (master) key"
EXAMPLES = """\
examples:
  export VI_FAILOVER_URL=https://<app>.azurewebsites.net/api VI_FAILOVER_KEY=<key>
  vi-failover status
  vi-failover failover --group default --to contoso-westus --reason "East US outage" --pin
  vi-failover send-alert --region "East US"              # a drill: the alert Azure would send
  vi-failover send-alert --region "East US" --resolve    # and its resolution
  vi-failover watch

"""
EPILOG = """\
connection:
  --url, VI_FAILOVER_URL   the API base, e.g. http://127.0.0.1:7071/api
  --key, VI_FAILOVER_KEY   a function key, sent as x-functions-key and never printed;
                           failover and unpin need the admin (master) key in Azure.
                           Prefer the variable: arguments show in `ps`.
exit codes:
  0  ok; send-alert: the server took the alert, whatever its outcome
  1  the server refused the request (4xx): its error and message are printed
  2  usage error
  3  server unreachable, timed out, busy (408, 429) or failing (5xx; Retry-After is printed)
  4  not found: unknown group or account
  5  refused as unsafe (409 UnsafeTarget): the target is impacted or not ready; see --force
  6  watch: --timeout passed before --count changes were seen
  130 interrupted (Ctrl-C); watch exits 0
"""


@dataclass
class CliError(Exception):
    """A command failed; `exit_code` says how, `message` (and `hint`) say why."""

    exit_code: int
    message: str
    hint: str = ""


@dataclass
class Api:
    """The function app's HTTP API: every call has a timeout and carries the key as a header."""

    base: str
    key: str
    timeout: float
    session: requests.Session = field(default_factory=requests.Session)

    def call(
        self, method: str, route: str, timeout: float | None = None, **kw: Any
    ) -> requests.Response:
        """The response of `method /route`; errors raised as CliError with their exit code."""
        seconds = timeout or self.timeout
        headers = {"User-Agent": "vi-failover-cli/0.1", **kw.pop("headers", {})}
        if self.key:
            headers["x-functions-key"] = self.key
        try:
            response = self.session.request(
                method,
                f"{self.base}/{route}",
                headers=headers,
                timeout=(min(5.0, seconds), seconds),
                allow_redirects=False,  # a redirect to another host would take the key along
                **kw,
            )
        except requests.Timeout:
            raise CliError(
                EXIT_UNAVAILABLE, f"no answer from {self.base} in {seconds:g}s"
            ) from None
        except requests.RequestException as exc:
            found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
            why = found.group(1) if found else type(exc).__name__
            raise CliError(EXIT_UNAVAILABLE, f"cannot reach {self.base}: {why}") from None
        if response.status_code >= 300 and response.status_code != 304:
            raise _error_of(response)
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


def _error_of(response: requests.Response) -> CliError:
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
        return CliError(
            EXIT_UNAVAILABLE, text + (f" (Retry-After: {retry}{unit})" if retry else "")
        )
    if code.startswith("Unknown"):
        return CliError(EXIT_NOT_FOUND, text)
    if status == 409 and code == "UnsafeTarget":
        return CliError(EXIT_UNSAFE, text, "add --force to move there anyway")
    hints = {
        404: "check --url: it is the API base, such as https://<app>.azurewebsites.net/api",
        401: f"check the key (--key or VI_FAILOVER_KEY); {KEY_NOTE}",
        403: f"check the key (--key or VI_FAILOVER_KEY); {KEY_NOTE}",
    }
    if 300 <= status < 400:
        where = urlsplit(response.headers.get("Location", ""))
        text += f" to {urlunsplit((where.scheme, where.netloc, where.path, '', ''))}"
        hints[status] = "use the target as --url"
    return CliError(EXIT_ERROR, text, hints.get(status, ""))


def _stamp() -> str:
    return view.fmt_time(datetime.now(UTC).isoformat())


def _show(out: Output, args: argparse.Namespace, body: Json, lines: list[str]) -> int:
    if args.json:
        out.json(body)
        return EXIT_OK
    for line in lines:
        out.line(line)
    return EXIT_OK


def cmd_read(api: Api, args: argparse.Namespace, out: Output) -> int:
    """status, active and history: GET, then a table, a line or the JSON."""
    params = {"group": getattr(args, "group", None), "limit": getattr(args, "limit", None)}
    route = {"active": "active-account"}.get(args.command, args.command)
    body = api.json("GET", route, params=params)
    if args.command == "status":
        return _show(out, args, body, view.status_lines(body, out))
    if args.command == "active":
        return _show(out, args, body, [view.active_line(body, datetime.now(UTC))])
    return _show(out, args, body, view.history_lines(body, out))


def cmd_failover(api: Api, args: argparse.Namespace, out: Output) -> int:
    """POST /api/failover: a move (optionally pinned), or an unpin."""
    request: Json = {"group": args.group, "reason": args.reason}
    if args.command == "unpin":
        request["pin"] = False
    else:
        request |= {"to": args.to, "force": args.force}
        if args.pin or args.pin_minutes:
            request["pin"] = True
        if args.pin_minutes:
            request["pinMinutes"] = args.pin_minutes
    if args.actor:
        request["actor"] = args.actor
    body = api.json("POST", "failover", json=request)
    return _show(out, args, body, view.failover_lines(body, out))


def cmd_send_alert(api: Api, args: argparse.Namespace, out: Output) -> int:
    """POST /api/alerts: a file's bytes as they are, or a generated Service Health alert."""
    generated = [args.region, args.incident_type, args.tracking_id, args.service, args.schema]
    if args.file and (any(generated) or args.resolve):
        raise CliError(EXIT_USAGE, "give FILE or --region and its options, not both")
    if not args.file and not args.region:
        raise CliError(EXIT_USAGE, "give FILE (or - for stdin), or --region to generate an alert")
    if args.file:
        try:
            data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        except OSError as exc:
            raise CliError(EXIT_USAGE, f"cannot read {args.file}: {exc.strerror}") from None
        sent, again = f"sent {args.file} ({len(data)} bytes)", ""
    else:
        kind, service = args.incident_type or "Incident", args.service or alerts.DEFAULT_SERVICE
        tracking = args.tracking_id or alerts.default_tracking_id(args.region, kind)
        payload = alerts.service_health_alert(
            regions=args.region,
            now=datetime.now(UTC),
            incident_type=kind,
            service=service,
            resolve=args.resolve,
            tracking_id=tracking,
            schema=args.schema or "common",
        )
        data = json.dumps(payload).encode()
        stage = "Resolved" if args.resolve else "Active"
        sent = f"sent {kind} {tracking} ({stage}): {service} in {', '.join(args.region)}"
        again = "" if args.resolve else f"\nto resolve it: {_resolve_command(args)}"
    body = api.json("POST", "alerts", data=data, headers={"Content-Type": "application/json"})
    lines = [sent, *view.alert_lines(body, out)]
    return _show(out, args, body, [*lines, again] if again else lines)


def _resolve_command(args: argparse.Namespace) -> str:
    words = ["vi-failover send-alert", *(f'--region "{r}"' for r in args.region)]
    for flag in ("incident_type", "tracking_id", "service", "schema"):
        if value := getattr(args, flag):
            words.append(f'--{flag.replace("_", "-")} "{value}"')
    return " ".join([*words, "--resolve"])


def cmd_watch(
    api: Api,
    args: argparse.Namespace,
    out: Output,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Poll GET /api/active-account with If-None-Match; a line per change, until told to stop."""
    deadline = clock() + args.timeout if args.timeout else float("inf")
    etag, seen, changes, down = "", None, 0, None
    try:
        while not (args.count and changes >= args.count):
            if clock() >= deadline:
                if down is not None:
                    raise down
                if args.count:
                    raise CliError(
                        EXIT_WATCH_TIMEOUT, f"timed out: {changes} of {args.count} changes"
                    )
                return EXIT_OK
            try:
                wait = min(api.timeout, max(deadline - clock(), 0.5))
                headers = {"If-None-Match": etag} if etag else {}
                params = {"group": args.group}
                response = api.call("GET", "active-account", wait, headers=headers, params=params)
            except CliError as exc:
                if exc.exit_code != EXIT_UNAVAILABLE:
                    raise
                if down is None:
                    out.error(f"{_stamp()}  {exc.message}; still watching")
                down = exc
            else:
                if down is not None:
                    out.error(f"{_stamp()}  {api.base} answers again")
                down, etag = None, response.headers.get("ETag", etag)
                body = api.body(response, "active-account") if response.status_code == 200 else {}
                if body and (seen is None or view.state_key(body) != view.state_key(seen)):
                    changes += seen is not None
                    now = datetime.now(UTC)
                    text = view.change_line(seen, body) if seen else view.active_line(body, now)
                    if args.json:
                        out.json(body, compact=True)
                    else:
                        out.line(f"{_stamp()}  {text}")
                    seen = body
            sleep(min(args.interval, max(deadline - clock(), 0.0)))
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _number(kind: Callable[[str], float], most: float = float("inf")) -> Callable[[str], Any]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if not 0 < value <= most:
            raise argparse.ArgumentTypeError(f"{text!r}: give a number above 0, at most {most:g}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="vi-failover",
        description=DESCRIPTION,
        epilog=EXAMPLES + EPILOG,
        formatter_class=fmt,
    )
    common = argparse.ArgumentParser(add_help=False)
    for target, default in ((parser, None), (common, argparse.SUPPRESS)):
        target.add_argument("--url", default=default, help="API base (env VI_FAILOVER_URL)")
        target.add_argument("--key", default=default, help="function key (env VI_FAILOVER_KEY)")
        target.add_argument(
            "--request-timeout",
            type=_number(float),
            default=default or 15.0,
            metavar="S",
            help="timeout of each request in seconds (default 15)",
        )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=text, description=text, epilog=EPILOG, formatter_class=fmt, parents=[common]
        )
        sub.add_argument("--json", action="store_true", help="print the JSON answer")
        return sub

    command("status", "every group: active account, pin, incidents, readiness")
    sub = command("active", "the active account of a group, on one line")
    sub.add_argument("--group", help="needed when the app serves several groups")
    sub = command("history", "the audit trail, newest first")
    sub.add_argument("--group", help="one group (default: all, and unmatched alerts)")
    sub.add_argument("--limit", type=_number(int, 1000), default=20, help="1-1000 (default 20)")
    sub = command("failover", f"move a group to an account, optionally pinned. {ADMIN_NOTE}")
    sub.add_argument("--group", required=True)
    sub.add_argument("--to", required=True, metavar="ACCOUNT")
    sub.add_argument("--pin", action="store_true", help="hold the group: no automatic moves")
    sub.add_argument("--pin-minutes", type=_number(int, 43200), metavar="N", help="implies --pin")
    sub.add_argument(
        "--force", action="store_true", help="move even into an impacted or unready account"
    )
    unpin = command("unpin", f"remove a group's pin. {ADMIN_NOTE}")
    unpin.add_argument("--group", required=True)
    for target in (sub, unpin):
        target.add_argument("--reason", required=True, help="why: goes to the audit trail")
        target.add_argument("--actor", help="who, for the audit trail (default: the server's)")
    sub = command("send-alert", "send an alert file, or generate a Service Health alert")
    sub.add_argument("file", nargs="?", metavar="FILE", help="JSON alert to POST as is; - is stdin")
    sub.add_argument("--region", action="append", help='e.g. "East US"; repeat for more')
    sub.add_argument(
        "--incident-type",
        type=alerts.canonical_incident_type,
        choices=alerts.INCIDENT_TYPES,
        help="default Incident",
    )
    sub.add_argument("--resolve", action="store_true", help="send the Resolved update instead")
    sub.add_argument("--tracking-id", help="default: derived from the regions and incident type")
    sub.add_argument("--service", help=f'default "{alerts.DEFAULT_SERVICE}"')
    sub.add_argument("--schema", choices=("common", "legacy"), help="envelope; default common")
    sub = command("watch", "print a line each time a group's active account or pin changes")
    sub.add_argument("--group", help="needed when the app serves several groups")
    sub.add_argument("--interval", type=_number(float), default=5.0, metavar="S")
    sub.add_argument("--count", type=_number(int), metavar="N", help="stop after N changes")
    sub.add_argument("--timeout", type=_number(float), metavar="S", help="stop after S seconds")
    return parser


COMMANDS: dict[str, Callable[[Api, argparse.Namespace, Output], int]] = {
    "status": cmd_read,
    "active": cmd_read,
    "history": cmd_read,
    "failover": cmd_failover,
    "unpin": cmd_failover,
    "send-alert": cmd_send_alert,
    "watch": cmd_watch,
}


def _base_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(EXIT_USAGE, "--url: give the API base, e.g. http://127.0.0.1:7071/api")
    if parts.query or parts.fragment or "@" in parts.netloc:
        # Never echo it: a ?code= or user:password@ in it is a secret.
        raise CliError(EXIT_USAGE, "--url: leave the key out; use --key or VI_FAILOVER_KEY")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") or "/api", "", ""))


def _key_like(words: list[str]) -> list[str]:
    """Values given to --key, or to any option spelt with a k (`--kye`), for a usage error."""
    found = []
    for word, after in zip(words, [*words[1:], ""], strict=True):
        name, equals, value = word.partition("=")
        if name.startswith("--") and "k" in name:
            found.append(value if equals else after)
    return [f for f in found if len(f) >= 4]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code documented in `--help`."""
    words = list(sys.argv[1:] if argv is None else argv)
    env_key = os.environ.get("VI_FAILOVER_KEY", "")
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else None
    if sys.stdout.isatty():
        width = shutil.get_terminal_size().columns
    complaint = io.StringIO()
    try:
        with contextlib.redirect_stderr(complaint):  # argparse quotes unrecognised arguments
            args = _parser().parse_args(words)
    except SystemExit as exc:  # on --help (0) and on usage errors (2)
        suspects = (*_key_like(words), env_key)
        if complaint.getvalue():
            Output(sys.stdout, sys.stderr, suspects).error(complaint.getvalue().rstrip())
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    key = args.key or env_key
    out = Output(sys.stdout, sys.stderr, (key, env_key), width)
    try:
        url = args.url or os.environ.get("VI_FAILOVER_URL")
        if not url:
            raise CliError(EXIT_USAGE, "give --url or set VI_FAILOVER_URL (the API base)")
        api = Api(_base_url(url), key, args.request_timeout)
        with api.session:
            return COMMANDS[args.command](api, args, out)
    except CliError as exc:
        out.error(f"vi-failover: error: {exc.message}")
        if exc.hint:
            out.error(f"hint: {exc.hint}")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
