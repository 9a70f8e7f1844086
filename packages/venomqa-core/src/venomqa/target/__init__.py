"""Starting the API under test: ``target:`` as a mapping in venomqa.yaml.

    target:
      url: http://127.0.0.1:{port}
      command: [uvicorn, app:app, --port, "{port}"]     # or one string, run by /bin/sh -c
      env: {DATABASE_URL: "{stores.db.dsn}"}
      ready: /health                                    # any answer below 500 = ready

``TargetSpec`` (``spec``) holds the templates; ``start_target`` (``launch``) picks a free port,
fills the templates in, starts the command in its own process group and waits until it is
ready; the ``RunningTarget`` it returns stops the whole group (also when VenomQA is killed,
through a watchdog). ``template`` is the placeholder syntax.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venomqa.errors import TargetStartError
from venomqa.lazy import lazy_getattr
from venomqa.target.spec import (
    DEFAULT_READY_TIMEOUT_S,
    DEFAULT_STOP_TIMEOUT_S,
    Launch,
    TargetSpec,
)

if TYPE_CHECKING:  # loaded on first use: loading venomqa.yaml needs only the spec
    from venomqa.target.launch import RunningTarget, start_target

__getattr__ = lazy_getattr(
    __name__,
    {name: "venomqa.target.launch" for name in ("RunningTarget", "start_target")},
)

__all__ = [
    "DEFAULT_READY_TIMEOUT_S",
    "DEFAULT_STOP_TIMEOUT_S",
    "Launch",
    "RunningTarget",
    "TargetSpec",
    "TargetStartError",
    "start_target",
]
