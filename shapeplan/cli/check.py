"""``check``: the layer table, the valid inputs and the diagnostics of net.yaml files and Python
targets (``models.py:Net``); with ``--at``, the values at one size, or why that size fails."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.errors import ShapeplanError
from .app import CheckFormat, DType, _columns, _err, _fail_json, _internal, _sizes, app
from .targets import TARGET_HELP, ArgsOpt, InputOpt, KwargsOpt, PyOptions, check_options, load_network

if TYPE_CHECKING:
    from ..analysis.report import Report


@app.command()
def check(
    files: Annotated[list[str], typer.Argument(help=TARGET_HELP, show_default=False)],
    format: Annotated[CheckFormat, typer.Option(
        "--format", "-f", help="table, json, github (Actions annotations) or sarif (SARIF 2.1.0)")] = CheckFormat.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only diagnostics, no table")] = False,
    columns: Annotated[str, typer.Option(
        "--columns", "-c", help="table columns, comma-separated, from: shape, params, trainable, buffers, macs, "
        "flops, elements, memory, rf, jump, start")] = "shape,params",
    at: Annotated[str | None, typer.Option(
        "--at", help="evaluate at these sizes, e.g. H=224,W=224 (values in the table, totals next to the "
        "formulas; an invalid size: the first layer that fails there and the nearest valid sizes)",
        show_default=False)] = None,
    dtype: Annotated[DType, typer.Option("--dtype", help="element type for memory")] = DType.float32,
    input: InputOpt = None,
    args: ArgsOpt = None,
    kwargs: KwargsOpt = None,
) -> None:
    """Shapes of every layer (symbolic in N, H, W ...) and the valid input sizes.

    Costs (--columns): params, trainable and buffers (running stats) per layer; MACs count the multiply-accumulates of Conv, ConvTranspose, Linear, Bilinear, matmul/mm/bmm and F.linear, one per use of a weight, bias excluded, every other op 0; FLOPs = 2 x MACs (the convention of torch.utils.flop_counter.FlopCounterMode); memory is each output's bytes at --dtype, and the peak of an inference forward; rf, jump and start are the receptive field, effective stride and window centre per input axis.
    """
    cols = _columns(columns)
    sizes = _sizes(at)
    py = PyOptions(input, args, kwargs)
    run = _CheckRun(format)
    try:
        check_options(files, py)
    except ShapeplanError as e:
        _err(str(e))
        raise typer.Exit(e.exit_code) from None
    for target in files:
        rep = _check_file(run, target, py)
        if rep is not None:
            _show_report(run, rep, Path(target), cols, sizes, dtype, quiet, len(files) > 1)
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


def _check_file(run: _CheckRun, target: str, py: PyOptions) -> Report | None:
    """The Report of one file or Python target, or None after recording why it could not be checked."""
    from .. import api

    try:
        return api.check(load_network(target, py))
    except ShapeplanError as e:
        run.failed(Path(target), e, e.exit_code)
    except Exception as e:  # noqa: BLE001 - never a traceback for the user
        run.failed(Path(target), _internal(e, f"checking {target}"), 2)
    return None


def _bad_at(rep: Report, sizes: dict[str, int]) -> ShapeplanError | None:
    """Why ``--at`` does not fit: a size the network does not have, or (for a network without
    errors) an invalid size, explained."""
    from ..analysis.at import explain_at, unknown_sizes

    return explain_at(rep, sizes) if rep.ok else unknown_sizes(rep, sizes)


def _show_report(run: _CheckRun, rep: Report, path: Path, cols: tuple[str, ...], sizes: dict[str, int],
                 dtype: DType, quiet: bool, many: bool) -> None:
    """One file's report: kept for the CI formats or JSON, else printed as a table."""
    if not rep.ok:
        run.worst(1)
    if run.ci:
        run.found.append((str(path), rep.diagnostics))
        return
    if sizes:
        bad = _bad_at(rep, sizes)
        if bad is not None:
            if bad.location is None or bad.location.file is None:
                bad = _located(bad, path)
            run.failed(path, bad, 2)
            return
        rep = _case_report(rep, sizes)
    if run.format is CheckFormat.json:
        try:
            doc = rep.to_json(dtype=dtype.value, at=sizes)
            if sizes and _all_sizes(rep, sizes):
                doc["at"] = {"sizes": sizes, "shapes": {k: list(v) for k, v in rep.at(**sizes).items()}}
            run.docs.append(doc)
        except Exception as e:  # noqa: BLE001 - never a traceback for the user
            run.worst(2)
            run.docs.append(_fail_json(str(path), _internal(e, f"costing {path}")))
    else:
        _show_table(run, rep, path, cols, sizes, dtype, quiet, many)


def _all_sizes(rep: Report, sizes: dict[str, int]) -> bool:
    from ..analysis.at import known_symbols

    return all(s in sizes for s in known_symbols(rep))


def _case_report(rep: Report, sizes: dict[str, int]) -> Report:
    """The report of the case ``sizes`` fall in, when they give every size (its layers and shapes)."""
    return rep.case_report(**sizes) if rep.ok and _all_sizes(rep, sizes) else rep


def _located(e: ShapeplanError, path: Path) -> ShapeplanError:
    """``e`` pointing at the file, when it points nowhere."""
    from ..core.errors import Location

    return type(e)(e.message, code=e.code, hint=e.hint, layer=e.layer, location=Location(str(path)))


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
