"""The commands ``solve``, ``ops``, ``schema`` and ``graph`` (``check`` is in :mod:`.check`)."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.errors import ShapeplanError
from .app import Format, _err, _fail, _internal, app
from .targets import TARGET_HELP, ArgsOpt, InputOpt, KwargsOpt, PyOptions, is_python, load_network

if TYPE_CHECKING:
    from ..analysis.report import Report


@app.command()
def solve(
    target: Annotated[str, typer.Argument(metavar="FILE", help=TARGET_HELP, show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the YAML with auto/solve filled in")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table or json")] = Format.table,
    limit: Annotated[int, typer.Option(help="at most this many solutions")] = 20,
    plot: Annotated[Path | None, typer.Option("--plot", help="draw the valid sizes to this .png or .svg")] = None,
    plot_symbols: Annotated[str | None, typer.Option("--plot-symbols", help="one or two symbols (default H,W)")] = None,
    plot_range: Annotated[str, typer.Option("--plot-range", help="sizes drawn per symbol, LO:HI")] = "1:128",
    repair: Annotated[bool, typer.Option("--repair", help="find the edits that make more sizes valid (each checked); "
                                                          "-o writes the network with the best one")] = False,
    input: InputOpt = None,
    args: ArgsOpt = None,
    kwargs: KwargsOpt = None,
) -> None:
    """Fill `auto` values and find `solve` unknowns; print the valid input sizes."""
    from ..analysis.solve import solve as run_solve
    from ..core.dims import fmt
    from ..render.text import diagnostics_text

    file = Path(target)
    try:
        net = load_network(target, PyOptions(input, args, kwargs), only=True)
        res = run_solve(net, limit=limit)
    except ShapeplanError as e:
        raise _fail(file, e, format is Format.json) from None
    except Exception as e:  # noqa: BLE001 - never a traceback for the user
        raise _fail(file, _internal(e, f"solving {target}"), format is Format.json) from None
    diags = res.diagnostics if (res.unknowns and not res.solutions) else res.report.diagnostics + res.diagnostics
    if repair:
        raise typer.Exit(_solve_repair(res.report, output, format))
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
        _write_solved(target, res, output)
    if plot is not None and not _write_plot(res, plot, plot_symbols, plot_range):
        raise typer.Exit(2)
    raise typer.Exit(0 if res.ok else 1)


def _solve_repair(rep: Report, output: Path | None, format: Format) -> int:
    """``solve --repair``: the checked repairs; with -o, the network with the best one as net.yaml."""
    from ..analysis.repair import find_repairs
    from ..render.yaml_out import to_yaml

    repairs = find_repairs(rep)
    if format is Format.json:
        typer.echo(json.dumps({"domain": str(rep.domain), "repairs": [
            {"kind": r.kind, "edit": r.edit, "location": str(r.location) if r.location else None,
             "domain": str(r.domain), "complete": r.complete} for r in repairs]}, indent=2))
    else:
        typer.echo(f"valid inputs: {rep.domain}")
        for i, r in enumerate(repairs):
            typer.echo(f"repair {i + 1} [{r.kind}]: {r}")
        if not repairs:
            typer.echo("no repair found: no checked edit makes more sizes valid")
    if not repairs:
        return 1
    if output is not None:
        best = repairs[0]
        text = to_yaml(best.network, header=f"repaired by shapeplan: {best.edit}\nvalid inputs: {best.domain}")
        try:
            output.write_text(text)
        except OSError as e:
            _err(f"error[file]: cannot write {output}: {e.strerror or e}")
            return 2
        _err(f"wrote {output}: valid inputs {best.domain}")
    return 0


@app.command()
def ops(
    name: Annotated[str | None, typer.Argument(help="show one op's parameters", show_default=False)] = None,
) -> None:
    """List the supported ops (PyTorch names) and their parameters."""
    from ..ops import REGISTRY
    from ..ops.params import REQUIRED

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


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write it to this file")] = None,
) -> None:
    """The JSON Schema of net.yaml, for editors (`# yaml-language-server: $schema=net.schema.json`)."""
    from ..render.schema import schema_text

    text = schema_text()
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        _err(f"error[file]: cannot write {output}: {e.strerror or e}")
        raise typer.Exit(2) from None


class GraphFormat(str, Enum):
    svg = "svg"
    dot = "dot"
    mermaid = "mermaid"


_GRAPH_SUFFIXES = {".svg": "svg", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid"}


@app.command()
def graph(
    target: Annotated[str, typer.Argument(metavar="FILE", help=TARGET_HELP, show_default=False)],
    format: Annotated[GraphFormat | None, typer.Option(
        "--format", "-f", help="svg (needs Graphviz's dot), dot or mermaid; default: from -o's suffix, else svg",
        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write it to this file (default: stdout)")] = None,
    input: InputOpt = None,
    args: ArgsOpt = None,
    kwargs: KwargsOpt = None,
) -> None:
    """A picture of the layer graph: edges labelled with their symbolic shapes, errors in red."""
    from .. import api
    from ..render.graph import FORMATS
    from ..render.text import diagnostics_text

    kind = format.value if format is not None else _GRAPH_SUFFIXES.get(output.suffix.lower() if output else "", "svg")
    try:
        rep = api.check(load_network(target, PyOptions(input, args, kwargs), only=True))
        text = FORMATS[kind](rep)
    except ShapeplanError as e:
        _err(str(e))
        raise typer.Exit(e.exit_code) from None
    except Exception as e:  # noqa: BLE001 - never a traceback for the user
        _err(str(_internal(e, f"drawing {target}")))
        raise typer.Exit(2) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as e:
            _err(f"error[file]: cannot write {output}: {e.strerror or e}")
            raise typer.Exit(2) from None
    _err(diagnostics_text([d for d in rep.diagnostics if d.severity != "note"]))
    raise typer.Exit(0 if rep.ok else 1)


def _write_solved(target: str, res: Any, output: Path) -> None:
    """Write the YAML with `auto` and `solve` filled in (a Python target: its net.yaml)."""
    from ..analysis.solve import filled_yaml
    from ..frontends.yaml.source import read_text
    from ..render.yaml_out import to_yaml

    if is_python(target):
        output.write_text(to_yaml(res.report.network, header=f"imported by shapeplan from {target}\n"
                                                             f"valid inputs: {res.report.domain}"))
        return
    text, skipped = filled_yaml(read_text(Path(target)), res)
    output.write_text(text)
    for s in skipped:
        _err(f"note: {s}")


def _write_plot(res: Any, path: Path, symbols: str | None, value_range: str) -> bool:
    """Draw the valid sizes of a solve result to ``path`` (SVG for .svg, else PNG).

    Returns False, after printing the error, when the plot cannot be made or written."""
    from ..analysis.domain.domain import Domain
    from ..render.plot import parse_range, render

    domain = res.report.domain
    if res.report.errors or (res.unknowns and not res.solutions):
        domain = Domain(domain.symbols, [])  # what `valid inputs: none` says
    kind = "svg" if path.suffix.lower() == ".svg" else "png"
    try:
        wanted = symbols.split(",") if symbols else None
        path.write_bytes(render(domain, kind, wanted, parse_range(value_range), res.report.network.name))
    except ShapeplanError as e:
        _err(str(e))
        return False
    except OSError as e:
        _err(f"error[file]: cannot write {path}: {e.strerror or e}")
        return False
    return True
