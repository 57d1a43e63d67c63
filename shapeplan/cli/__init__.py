"""The command line: thin. Parse arguments, call the library, print, set the exit code.

``app`` (one typer app) lives in :mod:`.app`; each command group registers on it from its own
module (:mod:`.check`; :mod:`.commands` for solve, ops, schema, graph; :mod:`.bridge` for emit,
validate, import); :mod:`.targets` reads a FILE argument (net.yaml or ``models.py:Net``).  May import
everything in shapeplan; nothing in shapeplan imports it.

Exit codes: 0 all good; 1 shape errors (or validation disagreed); 2 the input could not be
read (bad YAML, unknown op, bad argument) or bad usage.
"""

from __future__ import annotations

import sys

from ..core.errors import ShapeplanError
from . import bridge, check, commands, deploy  # noqa: F401 - register their commands on `app`
from .app import _err, app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``shapeplan`` console script."""
    try:
        app()
    except ShapeplanError as e:  # pragma: no cover - commands catch their own
        _err(str(e))
        sys.exit(e.exit_code)
