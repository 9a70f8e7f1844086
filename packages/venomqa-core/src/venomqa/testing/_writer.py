"""The writer the contract suite mutates a store through: another process, like a real API.

``ContractWriter`` is what an adapter's test provides. ``SubprocessWriter`` is a ready base that
runs each operation as a short Python snippet in a fresh interpreter, so every write really comes
from a separate process with its own connection.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import ClassVar, Protocol, runtime_checkable

from venomqa.json_types import Json


@runtime_checkable
class ContractWriter(Protocol):
    """Reads and writes the store's backing system *from another process*.

    The state is modelled as a string -> string map. ``snapshot()`` returns a comparable value
    that captures *everything* in the backing system, including anything the adapter installs
    (tables, triggers, keys, objects), so the suite can check that teardown leaves no trace.
    """

    def write(self, key: str, value: str) -> None:
        """Insert ``key`` or overwrite its value."""

    def delete(self, key: str) -> None:
        """Remove ``key`` (it exists when the suite calls this)."""

    def read_all(self) -> dict[str, str]:
        """The whole map as it is now."""

    def snapshot(self) -> object:
        """An ``==``-comparable picture of everything in the backing system."""


_RUNNER = """
import json, sys
_vars = json.loads(sys.stdin.read())
_ns = dict(_vars)
exec(_vars["__prelude__"], _ns)
exec(_vars["__code__"], _ns)
print(json.dumps(_ns.get("result")))
"""


class SubprocessWriter:
    """A ContractWriter that runs each operation in a fresh Python interpreter.

    Subclass it and set the snippets as class attributes. Every snippet runs after ``prelude``
    in one namespace holding ``options`` (the dict given to the constructor) and, for ``write``
    and ``delete``, ``key`` and ``value``. ``read_all_code`` and ``snapshot_code`` must assign a
    JSON-serialisable ``result`` (``snapshot`` results are compared after a JSON round trip).
    """

    prelude: ClassVar[str] = ""
    write_code: ClassVar[str] = ""
    delete_code: ClassVar[str] = ""
    read_all_code: ClassVar[str] = ""
    snapshot_code: ClassVar[str] = ""
    timeout_s: ClassVar[float] = 30.0

    def __init__(self, **options: Json) -> None:
        self.options = options

    def run(self, code: str, **variables: Json) -> Json:
        """Run ``code`` in a new interpreter; return the ``result`` it assigned (JSON-decoded)."""
        payload: dict[str, Json] = {
            "options": self.options,
            **variables,
            "__prelude__": self.prelude,
            "__code__": code,
        }
        done = subprocess.run(
            [sys.executable, "-c", _RUNNER],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=self.timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{type(self).__name__}: the writer process failed "
                f"(exit {done.returncode}):\n{done.stderr.strip()}"
            )
        lines = done.stdout.strip().splitlines()
        result: Json = json.loads(lines[-1]) if lines else None
        return result

    def write(self, key: str, value: str) -> None:
        self.run(self.write_code, key=key, value=value)

    def delete(self, key: str) -> None:
        self.run(self.delete_code, key=key)

    def read_all(self) -> dict[str, str]:
        """The map ``read_all_code`` assigned (TypeError unless it is strings by string)."""
        data = self.run(self.read_all_code) or {}
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise TypeError(f"{type(self).__name__}.read_all_code must assign a dict of strings")
        return {key: str(value) for key, value in data.items()}

    def snapshot(self) -> Json:
        return self.run(self.snapshot_code)
