"""The user-facing decorators and models of the README and docs/ behave as documented."""

from __future__ import annotations

import venomqa
from venomqa import Action, ExecutionContext, Invariant, Severity, action, invariant


def test_action_decorator_bare_and_with_precondition() -> None:
    @action
    def create(api: object, ctx: ExecutionContext) -> str:
        """Create an order."""
        return "created"

    @action(requires=lambda ctx: "order_id" in ctx)
    def refund(api: object, ctx: ExecutionContext) -> str:
        return "refunded"

    assert isinstance(create, Action) and create.name == "create"
    assert create.description == "Create an order."
    ctx = ExecutionContext()
    assert create.is_enabled(ctx) and not refund.is_enabled(ctx)
    ctx["order_id"] = 1
    assert refund.is_enabled(ctx)
    assert refund(None, ctx) == "refunded"


def test_invariant_decorator_defaults_to_high() -> None:
    @invariant
    def a(world: object) -> bool:
        return True

    @invariant(severity=Severity.CRITICAL, name="b_rule")
    def b(world: object) -> bool:
        return False

    assert isinstance(a, Invariant) and a.severity is Severity.HIGH
    assert b.name == "b_rule" and b.severity is Severity.CRITICAL


def test_context_snapshot_restore_and_fingerprint() -> None:
    ctx = ExecutionContext({"x": 1})
    snap = ctx.snapshot()
    before = ctx.fingerprint()
    ctx["x"] = 2
    ctx["y"] = [1, 2]
    assert ctx.fingerprint() != before
    ctx.restore(snap)
    assert dict(ctx) == {"x": 1} and ctx.fingerprint() == before


def test_public_names_exist() -> None:
    for name in venomqa.__all__:
        assert getattr(venomqa, name, None) is not None or name in {"explore"}, name
