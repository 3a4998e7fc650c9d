"""`vi-failover`: the operator's command line for the vi-failover function app's HTTP API."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from azure.core.credentials import TokenCredential

from vi_failover_client import alerts, cli_replay, history_export
from vi_failover_client import cli_output as view
from vi_failover_client.account import account_view
from vi_failover_client.cli_api import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    EXIT_WATCH_TIMEOUT,
    OPERATOR_ROLE,
    Api,
    CliError,
    Credentials,
)
from vi_failover_client.cli_output import Json, Output
from vi_failover_client.credentials import MissingExtraError
from vi_failover_client.settings import Secret, Settings
from vi_failover_client.sources import SourceError
from vi_failover_client.table import table_readers
from vi_failover_client.urls import api_base

EXPORT_LIMIT = 1000  # the most GET /api/history returns
DESCRIPTION = "Operate vi-failover: see and move the active Video Indexer account of each group."
WRITE_NOTE = (
    f"Signs in for VI_FAILOVER_AUDIENCE (app role {OPERATOR_ROLE}); "
    "VI_FAILOVER_MASTER_KEY is break-glass."
)
EXAMPLES = """\
examples:
  export VI_FAILOVER_URL=https://<app>.azurewebsites.net/api VI_FAILOVER_KEY=<readers' key>
  vi-failover status
  export VI_FAILOVER_AUDIENCE=api://vi-failover   # then `az login`: moves use your identity
  vi-failover failover --group default --to contoso-westus --reason "East US outage" --pin
  vi-failover send-alert --region "East US"              # a drill: the alert Azure would send
  vi-failover send-alert --region "East US" --resolve    # and its resolution
  vi-failover watch

"""
EPILOG = """\
connection (environment; client/README.md lists every VI_FAILOVER_* variable):
  --url, VI_FAILOVER_URL   the API base, e.g. http://127.0.0.1:7071/api (a bare host gets /api);
                           several, comma-separated: the next is tried when one is unreachable
  --key, VI_FAILOVER_KEY   the readers' function key: status, active, history and watch.
                           Prefer the variable: arguments show in `ps`.
  VI_FAILOVER_AUDIENCE     failover, pin, unpin: a Microsoft Entra ID token for this
                           Application ID URI (az login), with the app role Failover.Operator
  VI_FAILOVER_MASTER_KEY   break-glass only, without an audience: POST /api/failover/break-glass
  VI_FAILOVER_ALERT_KEY    send-alert: the alerts function key (VI_FAILOVER_ALERT_TOKEN: ?token=)
  VI_FAILOVER_STORAGE      active: read the table when the API does not answer
  https is required for any key or token, except to 127.0.0.1, ::1 and localhost.
exit codes:
  0  ok; send-alert: the server took the alert, whatever its outcome
  1  the server refused the request (4xx): its error and message are printed
  2  usage error, or a bad VI_FAILOVER_* setting
  3  server unreachable, timed out, busy (408, 429) or failing (5xx; Retry-After is printed)
  4  not found: unknown group or account
  5  refused as unsafe (409 UnsafeTarget): the target is impacted or not ready; see --force
  6  watch: --timeout passed before --count changes were seen
  130 interrupted (Ctrl-C); watch exits 0
"""


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
    group = getattr(args, "group", None)
    if args.command == "status":
        body = api.json("GET", "status")
        if group is not None:
            groups = [g for g in body.get("groups") or [] if g.get("group") == group]
            if not groups:
                known = ", ".join(str(g.get("group")) for g in body.get("groups") or [])
                message = f"UnknownGroup: unknown group {group!r}; configured: {known}"
                raise CliError(EXIT_NOT_FOUND, message, code="UnknownGroup")
            body = {**body, "groups": groups}
        return _show(out, args, body, view.status_lines(body, out))
    if args.command == "active":
        body = _active(api, args, out)
        return _show(out, args, body, [view.active_line(body, datetime.now(UTC))])
    export = getattr(args, "export", None)
    if getattr(args, "export_readiness", None) and not export:
        raise CliError(EXIT_USAGE, "--export-readiness goes with --export FILE")
    limit = getattr(args, "limit", None) or (EXPORT_LIMIT if export else 20)
    body = api.json("GET", "history", params={"group": group, "limit": limit})
    if export:
        readiness = args.export_readiness
        return history_export.export(body, export, out, as_json=args.json, readiness=readiness)
    return _show(out, args, body, view.history_lines(body, out))


def _active(api: Api, args: argparse.Namespace, out: Output) -> Json:
    """GET active-account; when no API answers and a table is configured, the table's entity."""
    try:
        if not api.bases:
            raise CliError(EXIT_USAGE, "give --url or set VI_FAILOVER_URL (the API base)")
        return api.json("GET", "active-account", params={"group": args.group})
    except CliError as exc:
        table = args.settings.table() if exc.exit_code in (EXIT_UNAVAILABLE, EXIT_USAGE) else None
        if table is None:
            raise
        if not args.group:
            raise CliError(exc.exit_code, exc.message, "the table needs --group") from None
        reasons = []
        readers = table_readers(table, args.group, api.timeout)
        try:
            for reader in readers:
                try:
                    account = reader.read(None, datetime.now(UTC), api.timeout).account
                except SourceError as failed:
                    reasons.append(f"{reader.label}: {failed}")
                    continue
                if api.bases:
                    out.error(f"vi-failover: {exc.message}; read from {reader.label} instead")
                return {**account_view(account), "source": reader.label}
        finally:
            for reader in readers:
                reader.close()
        raise CliError(EXIT_UNAVAILABLE, "; ".join([exc.message, *reasons])) from None


def cmd_failover(api: Api, args: argparse.Namespace, out: Output) -> int:
    """POST /api/failover: a move (optionally pinned), a pin in place, or an unpin."""
    request: Json = {"group": args.group, "reason": args.reason}
    if args.command == "unpin":
        request["pin"] = False
    elif args.command == "pin":
        request["pin"] = True
        if args.minutes:
            request["pinMinutes"] = args.minutes
    else:
        request |= {"to": args.to, "force": args.force}
        if args.pin or args.pin_minutes:
            request["pin"] = True
        if args.pin_minutes:
            request["pinMinutes"] = args.pin_minutes
    if args.actor:
        request["actor"] = args.actor
    route, auth = api.credentials.write_route()
    body = api.json("POST", route, json=request, kind="write", auth=auth)
    return _show(out, args, body, view.failover_lines(body, out))


def cmd_send_alert(api: Api, args: argparse.Namespace, out: Output) -> int:
    """POST /api/alerts: a file's bytes as they are, or a generated Service Health alert."""
    generated = [args.region, args.incident_type, args.tracking_id, args.service, args.schema]
    if args.history:
        if args.file or any(generated) or args.resolve:
            raise CliError(EXIT_USAGE, "give --history alone, without FILE or --region")
        return _send_history(api, args, out)
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
    headers = {"Content-Type": "application/json"}
    body = api.json("POST", "alerts", data=data, headers=headers, kind="alert")
    lines = [sent, *view.alert_lines(body, out)]
    return _show(out, args, body, [*lines, again] if again else lines)


def _send_history(api: Api, args: argparse.Namespace, out: Output) -> int:
    """POST every alert of a history, in the order received, as the action group would: so
    the stack can be compared with what `vi-failover replay` says of the same history."""
    found = cli_replay.deliveries(Path(args.history), out)
    if found is None:
        return EXIT_USAGE
    answers = []
    headers = {"Content-Type": "application/json"}
    for source, data in found:
        try:
            body = api.json("POST", "alerts", data=data, headers=headers, kind="alert")
        except CliError as exc:  # say which alert, then stop: the ones after it would not be
            raise replace(exc, message=f"{source}: {exc.message}") from None
        answers.append({"source": source, **body})
        if not args.json:
            out.line(f"{source}: {body.get('outcome')} — {body.get('reason')}")
    if args.json:
        out.json({"sent": answers})
    return EXIT_OK


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
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    common = argparse.ArgumentParser(add_help=False)
    for target, default in ((parser, None), (common, argparse.SUPPRESS)):
        target.add_argument("--url", default=default, help="API base (env VI_FAILOVER_URL)")
        target.add_argument(
            "--key", default=default, help="the readers' function key (env VI_FAILOVER_KEY)"
        )
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

    sub = command("status", "every group (or one): active account, pin, incidents, readiness")
    sub.add_argument("--group", help="only this group")
    sub = command("active", "the active account of a group, on one line")
    sub.add_argument("--group", help="needed when the app serves several groups, or for the table")
    sub = command("history", "the audit trail, newest first")
    sub.add_argument("--group", help="one group (default: all, and unmatched alerts)")
    sub.add_argument(
        "--limit", type=_number(int, EXPORT_LIMIT), help="1-1000 (default 20; 1000 with --export)"
    )
    sub.add_argument("--export", metavar="FILE", help="write its alerts as JSON Lines for replay")
    sub.add_argument(
        "--export-readiness", metavar="FILE", help="with --export: its readiness windows too"
    )
    sub = command("failover", f"move a group to an account, optionally pinned. {WRITE_NOTE}")
    sub.add_argument("--group", required=True)
    sub.add_argument("--to", required=True, metavar="ACCOUNT")
    sub.add_argument("--pin", action="store_true", help="hold the group: no automatic moves")
    sub.add_argument("--pin-minutes", type=_number(int, 43200), metavar="N", help="implies --pin")
    sub.add_argument(
        "--force", action="store_true", help="move even into an impacted or unready account"
    )
    pin = command("pin", f"hold a group on its active account: no automatic moves. {WRITE_NOTE}")
    pin.add_argument("--group", required=True)
    pin.add_argument("--minutes", type=_number(int, 43200), metavar="N", help="end the pin after N")
    unpin = command("unpin", f"remove a group's pin. {WRITE_NOTE}")
    unpin.add_argument("--group", required=True)
    for target in (sub, pin, unpin):
        target.add_argument("--reason", required=True, help="why: goes to the audit trail")
        target.add_argument("--actor", help="who, for the audit trail (default: the server's)")
    sub = command("send-alert", "send an alert file, or generate a Service Health alert")
    sub.add_argument("file", nargs="?", metavar="FILE", help="JSON alert to POST as is; - is stdin")
    sub.add_argument(
        "--history",
        metavar="HISTORY",
        help="POST every alert of a history replay reads, in the order received (needs the core)",
    )
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
    cli_replay.add_parser(commands, fmt)
    return parser


COMMANDS: dict[str, Callable[[Api, argparse.Namespace, Output], int]] = {
    "status": cmd_read,
    "active": cmd_read,
    "history": cmd_read,
    "failover": cmd_failover,
    "pin": cmd_failover,
    "unpin": cmd_failover,
    "send-alert": cmd_send_alert,
    "watch": cmd_watch,
}


def _key_like(words: list[str]) -> list[str]:
    """Values given to --key, or to any option spelt with a k (`--kye`), for a usage error."""
    found = []
    for word, after in zip(words, [*words[1:], ""], strict=True):
        name, equals, value = word.partition("=")
        if name.startswith("--") and "k" in name:
            found.append(value if equals else after)
    return [f for f in found if len(f) >= 4]


def _version() -> str:
    try:
        return version("vi-failover-client")
    except PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


def main(argv: Sequence[str] | None = None, *, credential: TokenCredential | None = None) -> int:
    """Run one command; returns the exit code documented in `--help`.

    `credential` replaces DefaultAzureCredential for VI_FAILOVER_AUDIENCE's token.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    env_secrets = tuple(
        os.environ.get(f"VI_FAILOVER_{n}", "")
        for n in ("KEY", "MASTER_KEY", "ALERT_KEY", "ALERT_TOKEN", "STORAGE", "ARM_TOKEN")
    )
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else None
    if sys.stdout.isatty():
        width = shutil.get_terminal_size().columns
    complaint = io.StringIO()
    try:
        with contextlib.redirect_stderr(complaint):  # argparse quotes unrecognised arguments
            args = _parser().parse_args(words)
    except SystemExit as exc:  # on --help and --version (0) and on usage errors (2)
        suspects = (*_key_like(words), *env_secrets)
        if complaint.getvalue():
            Output(sys.stdout, sys.stderr, suspects).error(complaint.getvalue().rstrip())
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    out = Output(sys.stdout, sys.stderr, (args.key or "", *env_secrets), width)
    api: Api | None = None
    try:
        if args.command == "replay":  # offline: no API, no credentials
            return cli_replay.run(args, out)
        api = _api(args, credential)
        out.secrets = (*out.secrets, *api.credentials.secrets())
        with api.session:
            code = COMMANDS[args.command](api, args, out)
        out.secrets = (*out.secrets, *api.credentials.secrets())  # a token got on the way
        return code
    except CliError as exc:
        out.secrets = (*out.secrets, *(api.credentials.secrets() if api else ()))
        _error(out, args, exc)
        return exc.exit_code
    except (ValueError, MissingExtraError) as exc:  # a VI_FAILOVER_* setting; a missing extra
        _error(out, args, CliError(EXIT_USAGE, str(exc)))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `| head`: the reader has all it wants
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the exit flush
        return EXIT_OK


def _api(args: argparse.Namespace, credential: TokenCredential | None) -> Api:
    settings = Settings.from_env()
    args.settings = settings
    if args.command in ("active", "watch") and args.group is None:
        args.group = settings.group
    if args.url:
        bases: tuple[str, ...] = tuple(
            api_base(u, setting="--url") for u in args.url.split(",") if u.strip()
        )
    else:
        bases = settings.urls
    if not bases and not (args.command == "active" and settings.storage is not None):
        raise CliError(EXIT_USAGE, "give --url or set VI_FAILOVER_URL (the API base)")
    credentials = Credentials(
        key=Secret(args.key) if args.key else settings.key,
        audience=settings.audience,
        master_key=settings.master_key,
        alert_key=settings.alert_key,
        alert_token=settings.alert_token,
        credential=credential,
    )
    return Api(bases, credentials, args.request_timeout)


def _error(out: Output, args: argparse.Namespace, exc: CliError) -> None:
    """The error on stderr: two lines for people, or one JSON object under --json."""
    if getattr(args, "json", False):
        body: dict[str, Any] = {"error": exc.code or _code_of(exc), "message": exc.message}
        body |= {"exitCode": exc.exit_code}
        if exc.status is not None:
            body["status"] = exc.status
        if exc.hint:
            body["hint"] = exc.hint
        out.error(json.dumps(body, ensure_ascii=False))
        return
    out.error(f"vi-failover: error: {exc.message}")
    if exc.hint:
        out.error(f"hint: {exc.hint}")


def _code_of(exc: CliError) -> str:
    return {
        EXIT_USAGE: "UsageError",
        EXIT_UNAVAILABLE: "Unavailable",
        EXIT_NOT_FOUND: "NotFound",
    }.get(exc.exit_code, "Error")


if __name__ == "__main__":
    sys.exit(main())
