"""``venomqa replay REPORT.json``: check whether reported violations still reproduce.

With a config, every finding is replayed by running the recorded action names through the real
actions (from the config's modules, and those plugins make from their sections such as
``openapi:``) with a fresh context, so logins, tokens and ids are fresh, inside a World session
exactly as a run does (stores set up, checkpointed, rolled back and torn down), then re-checking
it: the invariant, the action's exception, or the 5xx answer. Without a
config, server errors are replayed by re-sending each recorded request (method, URL re-based onto
``--target``, JSON or text body, headers except redacted ones, so an authenticated path may
answer 401) and comparing the final status.
When the config says how to start the API (``target.command``) and no ``--target`` is given,
the API is started once for all the replays and stopped after them.
Exit code: 1 if any selected violation reproduces, 0 if none does, 2 on bad input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import urlsplit

import click

from venomqa.cli.catalog import short_help
from venomqa.config import DEFAULT_CONFIG_NAME, Config, load_config
from venomqa.errors import EXIT_OK, EXIT_VIOLATIONS, UsageError
from venomqa.evaluation import invariant_failure, run_action, server_error_status
from venomqa.json_types import Json, JsonObject
from venomqa.models import KIND_ACTION_ERROR, KIND_SERVER_ERROR, Action, RequestRecord, Violation
from venomqa.models.actions import ActionFn
from venomqa.ports.store import StorePort

if TYPE_CHECKING:
    from venomqa.client import Client
    from venomqa.discovery import Discovered
    from venomqa.world import World

_SKIPPED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}
)


@click.command(short_help=short_help("replay"))
@click.argument("report_path", metavar="REPORT.json", type=click.Path(dir_okay=False))
@click.option(
    "--violation",
    "number",
    type=click.IntRange(min=1),
    help="Replay only this violation (1-based, as listed in the report); default: all.",
)
@click.option(
    "--target",
    metavar="URL",
    help="Send the requests to this base URL instead (a `target.command` is then not started).",
)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"Configuration whose actions and stores to use (default: ./{DEFAULT_CONFIG_NAME} "
    "if present).",
)
@click.pass_context
def replay(
    ctx: click.Context,
    report_path: str,
    number: int | None,
    target: str | None,
    config_path: str | None,
) -> None:
    """Re-send a report's violations to the live API and say whether they still reproduce."""
    report = read_report(report_path)
    violations = select_violations(report, number, report_path)
    if not violations:
        click.echo(f"{report_path}: the report holds no violations; nothing to replay.")
        ctx.exit(EXIT_OK)
    if config_path is None and Path(DEFAULT_CONFIG_NAME).is_file():
        config_path = DEFAULT_CONFIG_NAME
    config = load_config(config_path) if config_path else None
    recorded = report.get("target")
    reported = recorded if isinstance(recorded, str) else None
    reproduced = 0
    with ExitStack() as started:
        if target is None and config is not None and config.launch is not None:
            from venomqa.cli.run import target_url

            target = started.enter_context(target_url(config))
        base = (target or (config.target if config else None) or reported or "").rstrip("/")
        for index, violation in violations:
            click.echo(
                f"Violation {index}: [{violation.severity.name}] {violation.invariant} "
                f"({violation.kind}) after {' -> '.join(violation.path) or '(initial state)'}"
            )
            still, why = _replay_one(violation, base, config)
            reproduced += still
            verdict = "REPRODUCED" if still else "not reproduced"
            click.echo(f"  {verdict}: {why}")
    click.echo(f"{reproduced} of {len(violations)} violation(s) reproduced.")
    ctx.exit(EXIT_VIOLATIONS if reproduced else EXIT_OK)


def read_report(path: str) -> JsonObject:
    """The parsed JSON report; anything else is a UsageError (exit 2)."""
    try:
        data: Json = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: report file not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable JSON report ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("violations"), list):
        raise UsageError(f"{path}: not a VenomQA JSON report (no `violations` list)")
    return data


def select_violations(
    report: JsonObject, number: int | None, path: str
) -> list[tuple[int, Violation]]:
    """The violations to replay with their 1-based numbers; a bad number is a UsageError."""
    try:
        violations = [_violation(v) for v in _entries(report["violations"])]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path}: a violation in the report is malformed ({exc!r})") from exc
    numbered = list(enumerate(violations, 1))
    if number is None:
        return numbered
    if number > len(violations):
        raise UsageError(
            f"--violation {number}: the report holds {len(violations)} violation(s) "
            f"(numbered 1 to {len(violations)})"
        )
    return [numbered[number - 1]]


def _entries(value: Json) -> list[Json]:
    if not isinstance(value, list):
        raise TypeError(f"`violations` is {type(value).__name__}, not a list")
    return value


def _violation(entry: Json) -> Violation:
    if not isinstance(entry, dict):
        raise TypeError(f"a violation is {type(entry).__name__}, not an object")
    return Violation.from_dict(entry)


def _replay_one(violation: Violation, base: str, config: Config | None) -> tuple[bool, str]:
    if violation.kind == KIND_SERVER_ERROR and config is None:
        click.echo("  (no config: re-sending the recorded requests; pass -c to re-run the actions)")
        return _in_world(config, base, lambda world: _resend_requests(world.api, violation, base))
    if violation.kind not in ("invariant", KIND_ACTION_ERROR, KIND_SERVER_ERROR):
        raise UsageError(f"replaying {violation.kind!r} findings is not supported")
    if config is None:
        raise UsageError(
            f"re-checking {violation.invariant!r} needs the actions and invariants it was "
            f"found with: pass -c venomqa.yaml"
        )
    from venomqa.discovery import discover_config

    found = discover_config(config)  # the modules', and plugins' sources' (``openapi:`` ...)
    return _in_world(config, base, lambda world: _rerun_actions(world, violation, found))


def _in_world(
    config: Config | None, base: str, body: Callable[[World], tuple[bool, str]]
) -> tuple[bool, str]:
    """Run ``body(world)`` against a fresh world; with a config, inside a store checkpoint."""
    from venomqa.client import Client
    from venomqa.world import World

    if not base:
        raise UsageError("no target URL: pass --target URL (the report and config name none)")
    client = config.build_client(base) if config is not None else Client(base)
    try:
        client.check_reachable()
        stores: dict[str, StorePort] = {}
        if config is not None:
            from venomqa.config import build_stores

            stores = build_stores(config)
        world = World(client, stores)
        with world.session():
            return body(world)
    finally:
        client.close()


def _resend_requests(client: Client, violation: Violation, base: str) -> tuple[bool, str]:
    records = [(step.action, r) for step in violation.steps for r in step.requests]
    if not records:
        raise UsageError(f"violation {violation.invariant!r} has no recorded requests to re-send")
    number, last_status = 0, None
    for number, (action_name, record) in enumerate(records, 1):
        response = client.request(record.method, rebase(record.url, base), **request_kwargs(record))
        last_status = response.status_code
        click.echo(
            f"  {number}. {action_name}  {record.method} {_path_of(record.url)} -> "
            f"{response.status_code} (recorded {record.response_status})"
        )
    recorded = records[-1][1].response_status
    if last_status is not None and last_status >= 500:
        same = "the same status" if last_status == recorded else f"recorded {recorded}"
        return True, f"the API still answers {last_status} ({same})"
    return False, f"the API now answers {last_status} (recorded {recorded})"


def _rerun_actions(world: World, violation: Violation, found: Discovered) -> tuple[bool, str]:
    callables: dict[str, Action | ActionFn] = {a.name: a for a in found.actions}
    for graph in found.graphs:
        callables.update({edge.name: edge.action for edge in graph.all_edges()})
    invariants = {i.name: i for i in found.invariants}
    for graph in found.graphs:
        invariants.update({i.name: i for i in graph.invariants})
    missing = [name for name in violation.path if name not in callables]
    if missing:
        raise UsageError(
            f"the report's path names action(s) {', '.join(map(repr, missing))} that the modules "
            f"{', '.join(found_modules(found)) or '(none)'} do not define"
        )
    check = invariants.get(violation.invariant)
    if violation.kind == "invariant" and check is None:
        raise UsageError(
            f"invariant {violation.invariant!r} is not defined in the config's modules"
        )
    for number, name in enumerate(violation.path, 1):
        step = callables[name]
        if isinstance(step, Action) and not step.is_enabled(world.ctx):
            return False, f"step {number} ({name}) is no longer enabled: its precondition fails"
        executed = run_action(world, name, step)
        if executed.error is not None:
            raised = executed.step.error
            click.echo(f"  {number}. {name}  raised {raised}")
            if violation.kind == KIND_ACTION_ERROR and number == len(violation.path):
                return True, f"{name} still raises {raised}"
            return False, f"step {number} ({name}) raised {raised}"
        records = executed.step.requests
        shown = records[-1] if records else None
        call = f"{shown.method} {_path_of(shown.url)} -> {shown.response_status}" if shown else ""
        click.echo(f"  {number}. {name}  {call}".rstrip())
        if violation.kind == KIND_SERVER_ERROR and number == len(violation.path):
            status = server_error_status(executed)
            recorded = _recorded_status(violation)
            if status is not None:
                return True, f"{name} still gets {status} (recorded {recorded})"
            now = shown.response_status if shown else None
            return False, f"{name} now gets {now} (recorded {recorded})"
    if violation.kind == KIND_SERVER_ERROR:
        return False, "the path is empty: nothing to re-run"
    if violation.kind == KIND_ACTION_ERROR:
        return False, f"{violation.path[-1] if violation.path else 'the action'} no longer raises"
    assert check is not None
    message = invariant_failure(check, world)
    if message is None:
        return False, f"{violation.invariant} holds now"
    return True, f"{violation.invariant} is still violated: {message}"


def _recorded_status(violation: Violation) -> int | None:
    """The 5xx status the report recorded for the violation's last step."""
    last = violation.steps[-1].requests if violation.steps else []
    statuses = [r.response_status for r in last if r.response_status is not None]
    return next((s for s in statuses if s >= 500), statuses[-1] if statuses else None)


def found_modules(found: Discovered) -> list[str]:
    """The names of the modules the actions came from, for messages."""
    return sorted({getattr(a.fn, "__module__", "?") for a in found.actions})


def rebase(url: str, base: str) -> str:
    """``url`` with its scheme and host replaced by ``base`` (a relative URL is joined to it)."""
    parts = urlsplit(url)
    if not base:
        if not parts.scheme:
            raise UsageError(f"recorded URL {url!r} is relative: pass --target URL")
        return url
    path = parts.path if parts.scheme else url.split("?")[0]
    query = f"?{parts.query}" if parts.query else ""
    base_path = urlsplit(base).path.rstrip("/")
    if parts.scheme and base_path and path.startswith(base_path + "/"):
        path = path[len(base_path) :]
    return f"{base.rstrip('/')}/{path.lstrip('/')}{query}"


class ResendOptions(TypedDict, total=False):
    """The httpx keyword arguments ``request_kwargs`` gives."""

    headers: dict[str, str]
    json: Json
    content: bytes


def request_kwargs(record: RequestRecord) -> ResendOptions:
    """httpx keyword arguments re-creating ``record``'s body and (unredacted) headers."""
    from venomqa.client.secrets import REDACTED

    headers = {
        name: value
        for name, value in record.request_headers.items()
        if name.lower() not in _SKIPPED_HEADERS and REDACTED not in str(value)
    }
    kwargs: ResendOptions = {"headers": headers}
    body = record.request_body
    if isinstance(body, dict | list | int | float | bool):
        kwargs["json"] = body
        headers.pop("content-type", None)
        headers.pop("Content-Type", None)
    elif isinstance(body, str) and body:
        kwargs["content"] = body.encode("utf-8")
    return kwargs


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
