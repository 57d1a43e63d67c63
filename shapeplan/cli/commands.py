"""The YAML commands: ``check``, ``solve``, ``ops``, ``schema`` and ``graph``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.errors import ShapeplanError
from .app import CheckFormat, DType, Format, _bad_at, _columns, _err, _fail, _fail_json, _internal, _sizes, app

if TYPE_CHECKING:
    from ..analysis.check import Report


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="net.yaml files", show_default=False)],
    format: Annotated[CheckFormat, typer.Option(
        "--format", "-f", help="table, json, github (Actions annotations) or sarif (SARIF 2.1.0)")] = CheckFormat.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only diagnostics, no table")] = False,
    columns: Annotated[str, typer.Option(
        "--columns", "-c", help="table columns, comma-separated, from: shape, params, trainable, buffers, macs, "
        "flops, elements, memory, rf, jump, start")] = "shape,params",
    at: Annotated[str | None, typer.Option(
        "--at", help="evaluate at these sizes, e.g. H=224,W=224 (values in the table, totals next to the "
        "formulas)", show_default=False)] = None,
    dtype: Annotated[DType, typer.Option("--dtype", help="element type for memory")] = DType.float32,
) -> None:
    """Shapes of every layer (symbolic in N, H, W ...) and the valid input sizes.

    Costs (--columns): params, trainable and buffers (running stats) per layer; MACs count the multiply-accumulates of Conv, ConvTranspose, Linear, Bilinear, matmul/mm/bmm and F.linear, one per use of a weight, bias excluded, every other op 0; FLOPs = 2 x MACs (the convention of torch.utils.flop_counter.FlopCounterMode); memory is each output's bytes at --dtype, and the peak of an inference forward; rf, jump and start are the receptive field, effective stride and window centre per input axis.
    """
    cols = _columns(columns)
    sizes = _sizes(at)
    run = _CheckRun(format)
    for path in files:
        rep = _check_file(run, path)
        if rep is not None:
            _show_report(run, rep, path, cols, sizes, dtype, quiet, len(files) > 1)
    _print_collected(run)
    raise typer.Exit(run.code)


@dataclass
class _CheckRun:
    """What `check` gathers over its files: the worst exit code, and what it prints at the end."""

    format: CheckFormat
    code: int = 0
    docs: list[dict[str, Any]] = field(default_factory=list)  # --format json: one per file
    found: list[tuple[str, Any]] = field(default_factory=list)  # (file, diagnostics) for the CI formats

    @property
    def ci(self) -> bool:
        """A CI format (github, sarif): everything is printed at the end."""
        return self.format in (CheckFormat.github, CheckFormat.sarif)

    def worst(self, code: int) -> None:
        """Keep the highest exit code seen."""
        self.code = max(self.code, code)

    def failed(self, path: Path, e: ShapeplanError, code: int) -> None:
        """A file that could not be checked: its error as CI diagnostics, a JSON document or text."""
        self.worst(code)
        if self.ci:
            self.found.append((str(path), e.diagnostics))
        elif self.format is CheckFormat.json:
            self.docs.append(_fail_json(str(path), e))
        else:
            _err(str(e))


def _check_file(run: _CheckRun, path: Path) -> Report | None:
    """The Report of one file, or None after recording why it could not be checked."""
    from .. import api

    try:
        return api.check(api.load(path))
    except ShapeplanError as e:
        run.failed(path, e, e.exit_code)
    except Exception as e:  # noqa: BLE001 - never a traceback for the user
        run.failed(path, _internal(e, f"checking {path}"), 2)
    return None


def _show_report(run: _CheckRun, rep: Report, path: Path, cols: tuple[str, ...], sizes: dict[str, int],
                 dtype: DType, quiet: bool, many: bool) -> None:
    """One file's report: kept for the CI formats or JSON, else printed as a table."""
    if not rep.ok:
        run.worst(1)
    if run.ci:
        run.found.append((str(path), rep.diagnostics))
    elif sizes and (bad := _bad_at(rep, sizes, path)) is not None:
        run.failed(path, bad, 2)
    elif run.format is CheckFormat.json:
        try:
            run.docs.append(rep.to_json(dtype=dtype.value, at=sizes))
        except Exception as e:  # noqa: BLE001 - never a traceback for the user
            run.worst(2)
            run.docs.append(_fail_json(str(path), _internal(e, f"costing {path}")))
    else:
        _show_table(run, rep, path, cols, sizes, dtype, quiet, many)


def _show_table(run: _CheckRun, rep: Report, path: Path, cols: tuple[str, ...], sizes: dict[str, int],
                dtype: DType, quiet: bool, many: bool) -> None:
    """The table (unless --quiet) on stdout; the diagnostics and their summary on stderr."""
    from ..render.text import diagnostics_text, report_text, summary_line

    if not quiet:
        try:
            typer.echo(report_text(rep, cols, sizes, dtype.value))
        except Exception as e:  # noqa: BLE001 - never a traceback for the user
            run.worst(2)
            _err(str(_internal(e, f"costing {path}")))
        if many:
            typer.echo("")
    _err(diagnostics_text(rep.diagnostics))
    _print_repairs(rep)
    s = summary_line(rep.diagnostics)
    if s:
        _err(f"{path}: {s}")


def _print_repairs(rep: Report) -> None:
    """Where the domain restricts a size: the edits that make more sizes valid, each checked."""
    from ..analysis.repair import find_repairs, restricted

    if not restricted(rep):
        return
    try:
        repairs = find_repairs(rep)
    except Exception as e:  # noqa: BLE001 - a repair is advice; never a traceback for the user
        _err(str(_internal(e, "looking for repairs")))
        return
    for r in repairs:
        _err(f"repair[{r.kind}]: {r}")


def _print_collected(run: _CheckRun) -> None:
    """What the JSON and CI formats print once all files are checked."""
    if run.format is CheckFormat.json:
        typer.echo(json.dumps(run.docs[0] if len(run.docs) == 1 else {"reports": run.docs}, indent=2))
    elif run.ci:
        from .. import __version__
        from ..render import ci_formats

        text = ci_formats.github(run.found) if run.format is CheckFormat.github else json.dumps(
            ci_formats.sarif(run.found, __version__), indent=2)
        if text:
            typer.echo(text)


@app.command()
def solve(
    file: Annotated[Path, typer.Argument(help="net.yaml", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the YAML with auto/solve filled in")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table or json")] = Format.table,
    limit: Annotated[int, typer.Option(help="at most this many solutions")] = 20,
    plot: Annotated[Path | None, typer.Option("--plot", help="draw the valid sizes to this .png or .svg")] = None,
    plot_symbols: Annotated[str | None, typer.Option("--plot-symbols", help="one or two symbols (default H,W)")] = None,
    plot_range: Annotated[str, typer.Option("--plot-range", help="sizes drawn per symbol, LO:HI")] = "1:128",
    repair: Annotated[bool, typer.Option("--repair", help="find the edits that make more sizes valid (each checked); "
                                                          "-o writes the network with the best one")] = False,
) -> None:
    """Fill `auto` values and find `solve` unknowns; print the valid input sizes."""
    from .. import api
    from ..analysis.solve import filled_yaml
    from ..analysis.solve import solve as run_solve
    from ..core.dims import fmt
    from ..frontends.yaml.source import read_text
    from ..render.text import diagnostics_text

    try:
        net = api.load(file)
        res = run_solve(net, limit=limit)
    except ShapeplanError as e:
        raise _fail(file, e, format is Format.json) from None
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
        text, skipped = filled_yaml(read_text(file), res)
        output.write_text(text)
        for s in skipped:
            _err(f"note: {s}")
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
    file: Annotated[Path, typer.Argument(help="net.yaml", show_default=False)],
    format: Annotated[GraphFormat | None, typer.Option(
        "--format", "-f", help="svg (needs Graphviz's dot), dot or mermaid; default: from -o's suffix, else svg",
        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write it to this file (default: stdout)")] = None,
) -> None:
    """A picture of the layer graph: edges labelled with their symbolic shapes, errors in red."""
    from .. import api
    from ..render.graph import FORMATS
    from ..render.text import diagnostics_text

    kind = format.value if format is not None else _GRAPH_SUFFIXES.get(output.suffix.lower() if output else "", "svg")
    try:
        rep = api.check(api.load(file))
        text = FORMATS[kind](rep)
    except ShapeplanError as e:
        _err(str(e))
        raise typer.Exit(e.exit_code) from None
    except Exception as e:  # noqa: BLE001 - never a traceback for the user
        _err(str(_internal(e, f"drawing {file}")))
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
