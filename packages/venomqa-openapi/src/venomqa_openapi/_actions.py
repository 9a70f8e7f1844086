"""The actions made from the operations: one valid call per operation, its invalid variants,
and (with two or more identities) the BOLA and mass-assignment probes.

Every action builds its request from the context (slot values, see ``_wiring``) and a random
source seeded by (seed, action, context), so it sends the same request in the same state; it
runs the built-in checks on what it got and leaves the problems in the Ledger (``_checks``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from venomqa.client import Client
from venomqa.context import ExecutionContext
from venomqa.models import Action

from venomqa_openapi._checks import Ledger, Schemas, invariant_name
from venomqa_openapi._identities import Identities
from venomqa_openapi._settings import Settings
from venomqa_openapi._spec import Operation, Spec
from venomqa_openapi._values import ValueMaker, out_of_range, privileged, wrong_type
from venomqa_openapi._wiring import Slot, Wiring

#: A change made to a valid request: (query, body) -> (query, body).
Mutation = Callable[[dict[str, Any], Any], tuple[dict[str, Any], Any]]
_MISSING = object()


@dataclass
class Request:
    """What an action sends."""

    method: str
    url: str
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = _MISSING


@dataclass
class Kit:
    """Everything the actions share."""

    spec: Spec
    settings: Settings
    wiring: Wiring
    ledger: Ledger
    schemas: Schemas
    identities: Identities
    operations: list[Operation]

    def maker(self, action: str, ctx: ExecutionContext) -> ValueMaker:
        rng = random.Random(f"{self.settings.seed}/{action}/{ctx.fingerprint()}")
        return ValueMaker(lambda ref: self.spec.resolver.lookup(ref).contents, rng)

    def retrieve_op(self, slot: Slot) -> Operation | None:
        return next((o for o in self.operations if o.method == "GET" and o.path == slot.key), None)

    def list_op(self, slot: Slot) -> Operation | None:
        return next(
            (
                o
                for o in self.operations
                if o.method == "GET"
                and o.path == slot.collection
                and not any(p.required for p in o.query_params())
            ),
            None,
        )

    def created_slot(self, op: Operation) -> Slot | None:
        """The slot an operation creates in (POST on its collection), if it does."""
        if op.method != "POST":
            return None
        return next((s for s in self.wiring.slots.values() if s.collection == op.path), None)


# -- requests ---------------------------------------------------------------------------------


def required_slots(kit: Kit, op: Operation) -> list[str]:
    """The context keys ``op`` needs: its path slots and its required fields fed by slots."""
    keys = [slot.key for slot in kit.wiring.path_slots(op)]
    for param in op.query_params():
        slot = kit.wiring.field_slot(param.name)
        if param.required and slot is not None:
            keys.append(slot.key)
    body = kit.maker(op.name, ExecutionContext()).object_schema(op.body_schema or {})
    for name in body.get("required", []):
        slot = kit.wiring.field_slot(name)
        if slot is not None and slot.key not in keys:
            keys.append(slot.key)
    return keys


def build_request(kit: Kit, op: Operation, ctx: ExecutionContext, action: str) -> Request:
    """A valid request for ``op`` in the state ``ctx``."""
    maker = kit.maker(action, ctx)
    url = op.path
    for path_slot in kit.wiring.path_slots(op):
        value = quote(str(ctx[path_slot.key]), safe="")
        url = url.replace("{" + path_slot.param + "}", value, 1)
    query: dict[str, Any] = {}
    for param in op.query_params():
        slot = kit.wiring.field_slot(param.name)
        if slot is not None and slot.key in ctx:
            query[param.name] = ctx[slot.key]
        elif param.required:
            query[param.name] = maker.value(param.schema, param.name)
    request = Request(op.method, url, query)
    if op.body_schema is not None:
        schema = maker.object_schema(op.body_schema)
        body = maker.value(op.body_schema, "body")
        if isinstance(body, dict):
            for name in list(schema.get("properties") or {}):
                slot = kit.wiring.field_slot(name)
                if slot is not None and slot.key in ctx:
                    body[name] = ctx[slot.key]
        request.body = body
    return request


def send(
    kit: Kit, api: Client, request: Request, identity: str | None, ctx: ExecutionContext
) -> tuple[httpx.Response, Any]:
    """Send ``request`` as ``identity`` (logging in first, and again once on a 401, when it has
    a login); the response and its JSON body (None if not JSON)."""
    for attempt in (1, 2):
        kwargs: dict[str, Any] = {"headers": kit.identities.headers(api, identity, ctx)}
        if request.query:
            kwargs["params"] = request.query
        if request.body is not _MISSING:
            kwargs["json"] = request.body
        response = api.request(request.method, request.url, **kwargs)
        if response.status_code == 401 and attempt == 1 and kit.identities.can_refresh(identity):
            kit.identities.forget(identity, ctx)
            continue
        break
    return response, json_body(response)


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


# -- checks on one response ---------------------------------------------------------------------


def response_problems(
    kit: Kit, op: Operation, response: httpx.Response, body: Any
) -> dict[str, str]:
    """The status-documented and schema problems of one response to ``op``."""
    problems: dict[str, str] = {}
    status = response.status_code
    if status >= 500:
        return problems  # core's 5xx check reports it
    documented = op.response_for(status)
    where = f"{op.method} {response.request.url.path}"
    if documented is None:
        if kit.settings.on("status_documented"):
            listed = ", ".join(sorted(op.responses)) or "none"
            problems[invariant_name("status_documented", op.name)] = (
                f"{where} answered {status}, which the document does not list "
                f"(documented: {listed})"
            )
        return problems
    if kit.settings.on("schema") and documented.schema_pointer is not None:
        if body is None and response.content:
            problem: str | None = "the body is not JSON"
        else:
            problem = kit.schemas.problem(documented.schema_pointer, body)
        if problem is not None:
            problems[invariant_name("schema", op.name)] = (
                f"{where} answered {status} with a body that does not match the documented "
                f"schema: {problem}"
            )
    return problems


def follow_ups(
    kit: Kit, api: Client, op: Operation, ctx: ExecutionContext, identity: str | None
) -> dict[str, str]:
    """After a successful create: is the new resource retrievable and listed?"""
    problems: dict[str, str] = {}
    slot = kit.created_slot(op)
    if slot is None or slot.key not in ctx:
        return problems
    value = ctx[slot.key]
    getter = kit.retrieve_op(slot)
    if getter is not None and kit.settings.on("retrievable"):
        request = build_request(kit, getter, ctx, getter.name)
        response, _ = send(kit, api, request, identity, ctx)
        if not 200 <= response.status_code < 300:
            problems[invariant_name("retrievable", op.name)] = (
                f"{op.name} created {slot.param}={value!r}, but {getter.method} "
                f"{request.url} answered {response.status_code}"
            )
    lister = kit.list_op(slot)
    if lister is not None and kit.settings.on("listed"):
        request = build_request(kit, lister, ctx, lister.name)
        response, body = send(kit, api, request, identity, ctx)
        if 200 <= response.status_code < 300 and not _contains(body, value):
            problems[invariant_name("listed", op.name)] = (
                f"{op.name} created {slot.param}={value!r}, but {lister.method} {request.url} "
                "does not list it"
            )
    return problems


def _contains(body: Any, value: Any) -> bool:
    if isinstance(body, dict):
        return any(_contains(v, value) for v in body.values())
    if isinstance(body, list):
        return any(_contains(v, value) for v in body)
    return body == value or (body is not None and str(body) == str(value))


# -- the actions ------------------------------------------------------------------------------


def _requires(kit: Kit, op: Operation) -> Callable[[ExecutionContext], bool] | None:
    keys = required_slots(kit, op)
    if not keys:
        return None
    return lambda ctx: all(key in ctx for key in keys)


def valid_action(kit: Kit, op: Operation) -> Action:
    """The ordinary call of ``op`` as the main identity; harvests what it produces."""
    identity = kit.identities.main

    def run(api: Client, ctx: ExecutionContext) -> httpx.Response:
        request = build_request(kit, op, ctx, op.name)
        response, body = send(kit, api, request, identity, ctx)
        problems = response_problems(kit, op, response, body)
        if 200 <= response.status_code < 300:
            kit.wiring.harvest(op, body, response.headers, ctx)
            problems.update(follow_ups(kit, api, op, ctx, identity))
            if op.method == "DELETE":
                problems.update(_after_delete(kit, api, op, ctx, identity))
        kit.ledger.record(api.mark(), problems)
        return response

    return Action(
        name=op.name,
        fn=run,
        requires=_requires(kit, op),
        description=f"{op.method} {op.path} (from the OpenAPI document)",
        tags=("openapi",),
    )


def _after_delete(
    kit: Kit, api: Client, op: Operation, ctx: ExecutionContext, identity: str | None
) -> dict[str, str]:
    slots = kit.wiring.path_slots(op)
    if not slots or slots[-1].key != op.path:
        return {}
    slot = slots[-1]
    problems: dict[str, str] = {}
    getter = kit.retrieve_op(slot)
    if getter is not None and kit.settings.on("deleted_gone"):
        request = build_request(kit, getter, ctx, getter.name)
        response, _ = send(kit, api, request, identity, ctx)
        if response.status_code not in (404, 410) and response.status_code < 500:
            problems[invariant_name("deleted_gone", op.name)] = (
                f"{op.name} deleted {slot.param}={ctx[slot.key]!r}, but {getter.method} "
                f"{request.url} then answered {response.status_code} (expected 404 or 410)"
            )
    kit.wiring.forget(slot, ctx)
    return problems


def invalid_actions(kit: Kit, op: Operation) -> list[Action]:
    """Up to ``invalid_per_operation`` boundary/invalid variants of ``op``."""
    variants = _variants(kit, op)[: kit.settings.invalid_per_operation]
    identity = kit.identities.main
    actions = []
    for label, mutate in variants:
        name = f"{op.name} [{label}]"

        def run(
            api: Client, ctx: ExecutionContext, name: str = name, mutate: Mutation = mutate
        ) -> httpx.Response:
            request = build_request(kit, op, ctx, name)
            request.query, request.body = mutate(dict(request.query), request.body)
            response, body = send(kit, api, request, identity, ctx)
            kit.ledger.record(api.mark(), response_problems(kit, op, response, body))
            return response

        actions.append(
            Action(
                name=name,
                fn=run,
                requires=_requires(kit, op),
                description=f"{op.method} {op.path} with {label}",
                tags=("openapi", "invalid"),
            )
        )
    return actions


def _variants(kit: Kit, op: Operation) -> list[tuple[str, Mutation]]:
    maker = kit.maker(op.name, ExecutionContext())
    body_kinds: list[tuple[str, Mutation]] = []
    query_kinds: list[tuple[str, Mutation]] = []
    if op.body_schema is not None:
        schema = maker.object_schema(op.body_schema)
        props = schema.get("properties") or {}
        for name in schema.get("required", [])[:1]:
            body_kinds.append((f"missing {name}", _drop(name)))
        for name, sub in list(props.items())[:1]:
            body_kinds.append((f"{name} of wrong type", _set(name, wrong_type(maker.merged(sub)))))
    for param in op.query_params():
        schema = maker.merged(param.schema)
        if schema.get("type") in ("integer", "number") or param.name.lower() in ("limit", "offset"):
            for label, value in out_of_range(schema, param.name):
                query_kinds.append((label, _query(param.name, value)))
        if param.required:
            query_kinds.append((f"missing {param.name}", _query(param.name, _MISSING)))
    mixed: list[tuple[str, Mutation]] = []
    for index in range(max(len(body_kinds), len(query_kinds))):
        mixed.extend(kind[index] for kind in (body_kinds, query_kinds) if index < len(kind))
    return mixed


def _drop(name: str) -> Mutation:
    def mutate(query: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != name}
        return query, body

    return mutate


def _set(name: str, value: Any) -> Mutation:
    def mutate(query: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
        if isinstance(body, dict):
            body = {**body, name: value}
        return query, body

    return mutate


def _query(name: str, value: Any) -> Mutation:
    def mutate(query: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
        query = dict(query)
        if value is _MISSING:
            query.pop(name, None)
        else:
            query[name] = value
        return query, body

    return mutate


# -- several identities -----------------------------------------------------------------------


def bola_actions(kit: Kit, op: Operation) -> list[Action]:
    """``op`` on the main identity's resource, sent as each other identity: a 2xx is a leak."""
    slots = kit.wiring.path_slots(op)
    if len(kit.identities.names) < 2 or not slots or op.name in kit.settings.shared:
        return []
    if op.method not in ("GET", "PUT", "PATCH", "DELETE") or not op.secured:
        return []
    owner = kit.identities.main
    actions = []
    for other in kit.identities.names[1:]:
        name = f"{op.name} as {other}"

        def run(api: Client, ctx: ExecutionContext, other: str = other) -> httpx.Response:
            request = build_request(kit, op, ctx, op.name)
            response, _ = send(kit, api, request, other, ctx)
            problems: dict[str, str] = {}
            if 200 <= response.status_code < 300:
                verb = "read" if op.method == "GET" else "changed"
                problems[invariant_name("bola", op.name)] = (
                    f"{other} {verb} a resource of {owner}: {op.method} {request.url} "
                    f"answered {response.status_code} (expected 401, 403 or 404)"
                )
                if op.method == "DELETE":
                    kit.wiring.forget(slots[-1], ctx)
            kit.ledger.record(api.mark(), problems)
            return response

        actions.append(
            Action(
                name=name,
                fn=run,
                requires=_requires(kit, op),
                description=f"{op.method} {op.path} as {other} on {owner}'s resource",
                tags=("openapi", "bola"),
            )
        )
    return actions


def sensitive_fields(kit: Kit, op: Operation) -> dict[str, Any]:
    """Fields the response shows that a client may not set, with the value to try."""
    if op.body_schema is None or op.method not in ("POST", "PUT", "PATCH"):
        return {}
    maker = kit.maker(op.name, ExecutionContext())
    request = maker.object_schema(op.body_schema).get("properties") or {}
    found: dict[str, Any] = {}
    for status, response in op.responses.items():
        if not status.startswith("2") or response.schema_pointer is None:
            continue
        schema = maker.object_schema({"$ref": "#" + response.schema_pointer})
        for name, sub in (schema.get("properties") or {}).items():
            sub = maker.merged(sub)
            writable = name in request and not maker.merged(request[name]).get("readOnly")
            if writable and name not in kit.settings.sensitive_fields:
                continue
            if (
                not (sub.get("readOnly") or privileged(name, kit.settings.sensitive_fields))
                or name == "id"
            ):
                continue
            value = _privileged_value(sub)
            if value is not None and sub.get("default") != value:
                found[name] = value
    return found


def _privileged_value(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        options = [str(o) for o in schema["enum"]]
        return next((o for o in options if "admin" in o.lower()), options[-1])
    return {"boolean": True, "integer": 999_999, "number": 999_999, "string": "admin"}.get(
        str(kind)
    )


def mass_assignment_action(kit: Kit, op: Operation) -> Action | None:
    """``op`` with privileged fields added: they must not show in the response or when the
    resource is read back."""
    fields = sensitive_fields(kit, op)
    if not fields or not kit.settings.on("mass_assignment"):
        return None
    identity = kit.identities.main
    label = ", ".join(f"{k}={v!r}" for k, v in fields.items())
    name = f"{op.name} [with {', '.join(fields)}]"

    def run(api: Client, ctx: ExecutionContext) -> httpx.Response:
        request = build_request(kit, op, ctx, name)
        if isinstance(request.body, dict):
            request.body = {**request.body, **fields}
        response, body = send(kit, api, request, identity, ctx)
        problems = response_problems(kit, op, response, body)
        if 200 <= response.status_code < 300:
            kit.wiring.harvest(op, body, response.headers, ctx)
            shown = _shown(fields, body)
            slot = kit.created_slot(op) or next(iter(kit.wiring.path_slots(op)[-1:]), None)
            getter = kit.retrieve_op(slot) if slot is not None and slot.key in ctx else None
            if getter is not None:
                _read, stored = send(
                    kit, api, build_request(kit, getter, ctx, getter.name), identity, ctx
                )
                shown += [f for f in _shown(fields, stored) if f not in shown]
            if shown:
                problems[invariant_name("mass_assignment", op.name)] = (
                    f"{op.method} {request.url} accepted {', '.join(shown)} from the client "
                    f"(sent {label}): a field the client may not set was stored"
                )
        kit.ledger.record(api.mark(), problems)
        return response

    return Action(
        name=name,
        fn=run,
        requires=_requires(kit, op),
        description=f"{op.method} {op.path} also sending {label}",
        tags=("openapi", "mass-assignment"),
    )


def _shown(fields: dict[str, Any], body: Any) -> list[str]:
    if not isinstance(body, dict):
        return []
    return [name for name, value in fields.items() if name in body and body[name] == value]
