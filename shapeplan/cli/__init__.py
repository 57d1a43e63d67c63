"""The command line: thin. Parse arguments, call the library, print, set the exit code.

``app`` (one typer app) lives in :mod:`.app`; each command group registers on it from its own
module (:mod:`.commands` for net.yaml, :mod:`.bridge` for the torch bridge).  May import
everything in shapeplan; nothing in shapeplan imports it.

Exit codes: 0 all good; 1 shape errors (or validation disagreed); 2 the input could not be
read (bad YAML, unknown op, bad argument) or bad usage.
"""

from __future__ import annotations

import sys

from ..core.errors import ShapeplanError
from . import bridge, commands, deploy  # noqa: F401 - register their commands on `app`
from .app import _err, app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``shapeplan`` console script."""
    try:
        app()
    except ShapeplanError as e:  # pragma: no cover - commands catch their own
        _err(str(e))
        sys.exit(e.exit_code)
