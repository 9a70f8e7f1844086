"""The frames of an exception raised by the user's code (an action, a precondition, an
invariant, a node checker), so a finding says *where* it was raised, not just what.

``error_frames(exc)`` walks the exception's traceback, drops the outer frames that belong to
VenomQA's machinery (the engine calling the user's function), and keeps the innermost
``limit`` frames. Each frame is marked as the user's code or a library's: VenomQA and its
adapters (the bundled demo's checks count as user code), httpx and its transport, the standard
library and installed packages. ``TraceFrame``/``user_frame`` (in ``venomqa.models``) hold and
pick them. Cost: one pass over the traceback, only when something raised.
"""

from __future__ import annotations

import linecache
import os
import sys
import sysconfig
from functools import cache
from pathlib import Path
from types import TracebackType

from venomqa.models.results import TraceFrame

#: Frames kept per exception (the innermost ones).
FRAME_LIMIT = 5
#: Top-level packages whose frames are never the user's (besides ``venomqa_*`` adapters).
_LIBRARIES = ("venomqa", "httpx", "httpcore", "h11", "anyio", "sniffio", "pluggy", "click")
_VENOMQA = Path(__file__).resolve().parent
_DEMO = _VENOMQA / "demo"


def error_frames(exc: BaseException, *, limit: int = FRAME_LIMIT) -> list[TraceFrame]:
    """The innermost ``limit`` frames of ``exc``'s traceback, VenomQA's outer frames left out."""
    kept: list[TraceFrame] = []
    inside = False  # past VenomQA's own frames, in the user's call
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        file = code.co_filename
        user = _is_user_file(file)
        if user or inside or not _is_venomqa(file):
            inside = True
            line = tb.tb_lineno
            kept.append(
                TraceFrame(
                    file=_display(file),
                    line=line,
                    function=code.co_name,
                    source=linecache.getline(file, line).strip(),
                    user=user,
                )
            )
        tb = tb.tb_next
    return kept[-limit:] if limit > 0 else []


def _is_venomqa(file: str) -> bool:
    return _under(file, (str(_VENOMQA),))


def _is_user_file(file: str) -> bool:
    """Not a library's file: see the module docstring."""
    if file.startswith("<") and file.endswith(">"):  # <string>, <frozen ...>: not a file
        return file == "<string>"
    if _under(file, (str(_DEMO),)):
        return True
    return not _under(file, _library_roots())


def _under(file: str, roots: tuple[str, ...]) -> bool:
    try:
        resolved = os.path.realpath(file)
    except (OSError, ValueError):
        return False
    return any(resolved == root or resolved.startswith(root + os.sep) for root in roots)


def _library_roots() -> tuple[str, ...]:
    """Folders of libraries: the packages named above (as imported), the standard library and
    the installed packages' folders."""
    roots = set(_static_roots())
    for name, module in list(sys.modules.items()):
        top = name.partition(".")[0]
        if name != top or not (top in _LIBRARIES or top.startswith("venomqa_")):
            continue
        location = getattr(module, "__file__", None)
        if location:
            roots.add(os.path.realpath(os.path.dirname(location)))
    return tuple(sorted(roots))


@cache
def _static_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    found = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    return tuple(os.path.realpath(path) for path in found)


def _display(file: str) -> str:
    """``file`` relative to the current folder when it is inside it, else as it is."""
    try:
        relative = os.path.relpath(file)
    except ValueError:  # another drive
        return file
    return file if relative.startswith(os.pardir) else relative


__all__ = ["FRAME_LIMIT", "error_frames"]
