"""Where in the user's Python code a traced call or an exception comes from."""

from __future__ import annotations

import os
import re
import sys
import traceback
from functools import cache
from pathlib import Path
from typing import Any

from ...core.errors import Location

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


@cache
def _library_roots() -> tuple[str, ...]:
    import torch

    here = Path(__file__).resolve().parents[2]  # the shapeplan package
    return (str(Path(torch.__file__).parent) + os.sep, str(here) + os.sep)


def _user_frames(frames: list[tuple[str, int]]) -> list[tuple[str, int]]:
    roots = _library_roots()
    return [(f, n) for f, n in frames if not f.startswith(roots) and not f.startswith("<")]


def caller_location(skip: int = 2) -> Location | None:
    """The innermost line of the user's code on the current call stack (cheap: no traceback
    is formatted)."""
    roots = _library_roots()
    frame = sys._getframe(skip)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(roots) and not name.startswith("<"):
            return Location(name, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return None


def node_location(node: Any) -> Location | None:
    """The line of the user's Python code that made ``node`` (recorded by the tracer, or fx's
    stack trace)."""
    loc = node.meta.get("sp_location") if hasattr(node, "meta") else None
    if loc is not None:
        return loc  # type: ignore[no-any-return]
    trace = getattr(node, "stack_trace", None) or ""
    mine = _user_frames([(f, int(n)) for f, n in _FRAME.findall(trace)])
    if not mine:
        return None
    file, line = mine[-1]
    return Location(file, line)


def exception_location(e: BaseException) -> Location | None:
    """The innermost line of the user's code in ``e``'s traceback."""
    frames = [(fs.filename, fs.lineno or 0) for fs in traceback.extract_tb(e.__traceback__)]
    mine = _user_frames(frames)
    if not mine:
        return None
    file, line = mine[-1]
    return Location(file, line)


def source_line(loc: Location | None) -> str | None:
    """The text of the line at ``loc`` (stripped), for messages."""
    if loc is None or loc.file is None or loc.line is None:
        return None
    import linecache

    text = linecache.getline(loc.file, loc.line).strip()
    return text or None
