"""Journeys: scripted sequences of Steps, named Checkpoints and Branches that fork from one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: ``action(api, ctx, **args)``: what it returns is kept as the step's result.
StepFn = Callable[..., object]


@dataclass
class Step:
    """One scripted call: ``action(api, ctx, **args)``.

    ``timeout`` (seconds) bounds the step, ``retries`` re-runs it when it raises or answers 5xx,
    and ``expect_failure`` inverts success: the step passes only if it raises or answers >= 400.
    """

    name: str
    action: StepFn
    args: dict[str, object] = field(default_factory=dict)
    timeout: float | None = None
    retries: int = 0
    expect_failure: bool = False
    description: str = ""


@dataclass
class Checkpoint:
    """Save every store and the context under ``name`` so a later Branch can return to it."""

    name: str


@dataclass
class Path:
    """One alternative of a Branch: its own steps, run from the branch's checkpoint."""

    name: str
    steps: list[Step | Checkpoint | Branch] = field(default_factory=list)
    description: str = ""


@dataclass
class Branch:
    """Run each path from the state saved at ``checkpoint_name``, rolling back before each one."""

    checkpoint_name: str
    paths: list[Path] = field(default_factory=list)


JourneyItem = Step | Checkpoint | Branch


@dataclass
class Journey:
    """A named, scripted scenario: steps, checkpoints and branches run in order."""

    name: str
    steps: list[JourneyItem] = field(default_factory=list)
    description: str = ""
    tags: list[str] = field(default_factory=list)
