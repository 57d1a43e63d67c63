"""The one typer app, and what every command shares: output formats, option parsers, error exits.

Exit codes: 0 all good; 1 shape errors (or validation disagreed); 2 the input could not be
read (bad YAML, unknown op, bad argument) or bad usage.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.errors import ShapeplanError

app = typer.Typer(
    name="shapeplan",
    help="Check, solve and plan the shapes of PyTorch CNNs, for every input size at once.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
)


@app.callback()
def _root(
    torch_threads: Annotated[int | None, typer.Option(
        "--torch-threads", min=1,
        help="answer for torch running on this many CPU threads (a few of its kernel choices depend on it; "
             "default: torch's own count where it is imported, else OMP_NUM_THREADS, else the CPUs)")] = None,
) -> None:
    """Check, solve and plan the shapes of PyTorch CNNs, for every input size at once."""
    if torch_threads is not None:
        from ..ops.platform import set_torch_threads

        set_torch_threads(torch_threads)


class Format(str, Enum):
    table = "table"
    json = "json"


class CheckFormat(str, Enum):
    table = "table"
    json = "json"
    github = "github"  # GitHub Actions workflow commands (annotations)
    sarif = "sarif"  # SARIF 2.1.0 (code scanning)


class DType(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    float64 = "float64"


def _columns(text: str) -> tuple[str, ...]:
    from ..render.text import COLUMNS

    cols = tuple(c.strip() for c in text.split(",") if c.strip())
    bad = [c for c in cols if c not in COLUMNS]
    if bad or not cols:
        raise typer.BadParameter(f"unknown column {', '.join(bad) or '(none)'}; choose from {', '.join(COLUMNS)}",
                                 param_hint="--columns")
    return cols


def _sizes(text: str | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, eq, value = item.partition("=")
        try:
            out[name.strip()] = int(value)
        except ValueError:
            eq = ""
        if not eq or not name.strip() or out[name.strip()] < 0:
            raise typer.BadParameter(f"expected NAME=SIZE pairs such as H=224,W=224, got {item.strip()!r}",
                                     param_hint="--at")
    return out


def _err(text: str) -> None:
    if text:
        typer.echo(text, err=True)


def _fail_json(path: str, e: ShapeplanError) -> dict[str, Any]:
    return {"file": path, "ok": False, "layers": [], "domain": None,
            "diagnostics": [d.to_json() for d in e.diagnostics]}


def _fail(file: Path, e: ShapeplanError, as_json: bool) -> typer.Exit:
    """Report an error that stops a one-file command (JSON on stdout, or text on stderr);
    the exit to raise."""
    if as_json:
        typer.echo(json.dumps(_fail_json(str(file), e), indent=2))
    else:
        _err(str(e))
    return typer.Exit(e.exit_code)


def _internal(e: BaseException, what: str) -> ShapeplanError:
    return ShapeplanError(f"internal error while {what}: {type(e).__name__}: {e}", code="internal",
                          hint="this is a bug in shapeplan; please report it with the file")
