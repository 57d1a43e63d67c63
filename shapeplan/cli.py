"""The command line: thin. Parse arguments, call the library, print, set the exit code.

Exit codes: 0 all good; 1 shape errors (or validation disagreed); 2 the input could not be
read (bad YAML, unknown op, bad argument) or bad usage.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import ShapeplanError

app = typer.Typer(
    name="shapeplan",
    help="Check, solve and plan the shapes of PyTorch CNNs, for every input size at once.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
)


@app.callback()
def _root() -> None:
    """Check, solve and plan the shapes of PyTorch CNNs, for every input size at once."""


class Format(str, Enum):
    table = "table"
    json = "json"


def _err(text: str) -> None:
    if text:
        typer.echo(text, err=True)


def _fail_json(path: str, e: ShapeplanError) -> dict[str, Any]:
    return {"file": path, "ok": False, "layers": [], "domain": None,
            "diagnostics": [d.to_json() for d in e.diagnostics]}


def _internal(e: BaseException, what: str) -> ShapeplanError:
    return ShapeplanError(f"internal error while {what}: {type(e).__name__}: {e}", code="internal",
                          hint="this is a bug in shapeplan; please report it with the file")


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="net.yaml files", show_default=False)],
    format: Annotated[Format, typer.Option("--format", "-f", help="table or json")] = Format.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only diagnostics, no table")] = False,
) -> None:
    """Shapes of every layer (symbolic in N, H, W ...) and the valid input sizes."""
    from . import api
    from .render import diagnostics_text, report_text, summary_line

    code = 0
    docs: list[dict[str, Any]] = []
    for path in files:
        try:
            rep = api.check(api.load(path))
        except ShapeplanError as e:
            code = max(code, e.exit_code)
            if format is Format.json:
                docs.append(_fail_json(str(path), e))
            else:
                _err(str(e))
            continue
        except Exception as e:  # noqa: BLE001 - never a traceback for the user
            err = _internal(e, f"checking {path}")
            code = max(code, 2)
            docs.append(_fail_json(str(path), err)) if format is Format.json else _err(str(err))
            continue
        if not rep.ok:
            code = max(code, 1)
        if format is Format.json:
            docs.append(rep.to_json())
        else:
            if not quiet:
                typer.echo(report_text(rep))
                if len(files) > 1:
                    typer.echo("")
            _err(diagnostics_text(rep.diagnostics))
            s = summary_line(rep.diagnostics)
            if s:
                _err(f"{path}: {s}")
    if format is Format.json:
        typer.echo(json.dumps(docs[0] if len(docs) == 1 else {"reports": docs}, indent=2))
    raise typer.Exit(code)


@app.command()
def solve(
    file: Annotated[Path, typer.Argument(help="net.yaml", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the YAML with auto/solve filled in")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table or json")] = Format.table,
    limit: Annotated[int, typer.Option(help="at most this many solutions")] = 20,
) -> None:
    """Fill `auto` values and find `solve` unknowns; print the valid input sizes."""
    from . import api
    from .dims import fmt
    from .frontend.source import read_text
    from .render import diagnostics_text
    from .solve import filled_yaml
    from .solve import solve as run_solve

    try:
        net = api.load(file)
        res = run_solve(net, limit=limit)
    except ShapeplanError as e:
        if format is Format.json:
            typer.echo(json.dumps(_fail_json(str(file), e), indent=2))
        else:
            _err(str(e))
        raise typer.Exit(e.exit_code) from None
    diags = res.diagnostics if (res.unknowns and not res.solutions) else res.report.diagnostics + res.diagnostics
    if format is Format.json:
        doc = res.report.to_json()
        doc["auto"] = {f"{k[0]}.{k[1]}": fmt(v) for k, v in res.auto.items()}
        doc["unknowns"] = [f"{k[0]}.{k[1]}" for k in res.unknowns]
        doc["solutions"] = [{f"{k[0]}.{k[1]}": v for k, v in s.values.items()} for s in res.solutions]
        doc["diagnostics"] = [d.to_json() for d in diags]
        doc["ok"] = res.ok
        typer.echo(json.dumps(doc, indent=2))
    else:
        for (layer, p), v in res.auto.items():
            typer.echo(f"{layer}.{p} = {fmt(v)}   (auto)")
        for i, sol in enumerate(res.solutions):
            vals = ", ".join(f"{k[0]}.{k[1]} = {v}" for k, v in sol.values.items())
            typer.echo(f"solution {i + 1}: {vals}" + ("" if i else f"   (valid inputs: {sol.report.domain})"))
        if res.report.errors or (res.unknowns and not res.solutions):
            typer.echo("valid inputs: none")
        else:
            typer.echo(f"valid inputs: {res.report.domain}")
            small = res.report.domain.smallest()
            if small:
                typer.echo("smallest input: " + ", ".join(f"{k}={v}" for k, v in small.items()))
        _err(diagnostics_text(diags))
    if output is not None and res.ok:
        text, skipped = filled_yaml(read_text(file), res)
        output.write_text(text)
        for s in skipped:
            _err(f"note: {s}")
    raise typer.Exit(0 if res.ok else 1)


@app.command()
def ops(
    name: Annotated[str | None, typer.Argument(help="show one op's parameters", show_default=False)] = None,
) -> None:
    """List the supported ops (PyTorch names) and their parameters."""
    from .ops import REGISTRY
    from .ops.base import REQUIRED

    if name is not None:
        spec = REGISTRY.get(name)
        if spec is None:
            _err(f"error[unknown-op]: unknown op {name!r}")
            raise typer.Exit(2)
        typer.echo(f"{spec.name}  ({spec.torch_name}, {spec.kind})")
        for p in spec.params:
            default = "required" if p.default is REQUIRED else f"default {p.default!r}"
            extra = ", may be auto" if p.auto else ""
            typer.echo(f"  {p.name}: {getattr(p.conv, '__name__', '')} ({default}{extra})")
        return
    for n in sorted(REGISTRY, key=str.lower):
        spec = REGISTRY[n]
        typer.echo(f"{n:28} {spec.torch_name}({', '.join(p.name for p in spec.params)})")


def main() -> None:
    """Entry point of the ``shapeplan`` console script."""
    try:
        app()
    except ShapeplanError as e:  # pragma: no cover - commands catch their own
        _err(str(e))
        sys.exit(e.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
