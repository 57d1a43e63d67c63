"""The torch-bridge commands of the CLI: ``emit``, ``validate`` and ``import``.

Registered on :data:`shapeplan.cli.app.app` when :mod:`shapeplan.cli` is imported; torch is
imported only when one of them runs.  ``validate`` on a Python target runs the user's own
module; on net.yaml, the module that ``emit`` writes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.errors import InputError, ShapeplanError
from .app import Format, _err, _fail, _internal, app
from .targets import TARGET_HELP, ArgsOpt, InputOpt, KwargsOpt, PyOptions, check_options, is_python, load_python


def _load_report(target: str, py: PyOptions) -> tuple[Any, Any]:
    """The checked network, and the user's module for a Python target (else None); `solve`
    unknowns take their first solution (emit and validate work on the network as it will be built)."""
    from .. import api
    from ..analysis.solve import unknowns
    from ..backends.emit import solved_report

    check_options([target], py)
    module = None
    if is_python(target):
        imported = load_python(target, py)
        net, module = imported.network, imported.module
    else:
        net = api.load(Path(target))
    return (solved_report(net) if unknowns(net) else api.check(net)), module


@app.command()
def emit(
    target: Annotated[str, typer.Argument(metavar="FILE", help=TARGET_HELP, show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the source here")] = None,
    input: InputOpt = None,
    args: ArgsOpt = None,
    kwargs: KwargsOpt = None,
    guard: Annotated[bool, typer.Option("--guard", help="forward first checks the input sizes (ValueError with the "
                                                        "rule and the nearest valid sizes)")] = False,
) -> None:
    """Ready-to-use nn.Module source: layers in __init__, a forward with shape comments."""
    from ..backends.emit import emit as make_source
    from ..render.text import diagnostics_text

    try:
        rep, _ = _load_report(target, PyOptions(input, args, kwargs))
        src = make_source(rep, guard=guard)
    except ShapeplanError as e:
        _err(str(e))
        raise typer.Exit(e.exit_code) from None
    except Exception as e:  # noqa: BLE001 - never a traceback for the user
        _err(str(_internal(e, f"emitting {target}")))
        raise typer.Exit(2) from None
    _err(diagnostics_text([d for d in rep.diagnostics if d.severity != "note"]))
    if output is None:
        typer.echo(src, nl=False)
    else:
        output.write_text(src)
        _err(f"wrote {output}")


def _parse_sizes(text: str) -> list[dict[str, int]]:
    """``"H=32,W=32;H=64,W=64"`` -> [{H: 32, W: 32}, {H: 64, W: 64}]."""
    out: list[dict[str, int]] = []
    for group in text.split(";"):
        env: dict[str, int] = {}
        for item in group.split(","):
            if not item.strip():
                continue
            name, sep, value = item.partition("=")
            if not sep or not name.strip().isidentifier() or not value.strip().isdigit():
                raise InputError(f"bad size {item.strip()!r}: write NAME=INT, e.g. H=32", code="bad-usage",
                                 hint='--sizes "H=32,W=32;H=64,W=64"')
            env[name.strip()] = int(value)
        if env:
            out.append(env)
    return out


@contextmanager
def _progress(total: int, label: str) -> Iterator[Any]:
    """A progress bar on a terminal (rich), nothing when stderr is not one."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    try:
        from rich.progress import Progress
    except ImportError:  # pragma: no cover - rich comes with typer
        yield lambda: None
        return
    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


@app.command()
def validate(
    target: Annotated[str, typer.Argument(metavar="FILE", help=TARGET_HELP, show_default=False)],
    device: Annotated[str, typer.Option(help="where the layer shapes are computed: meta (no memory, no compute) or "
                                             "cpu / cuda; whether torch accepts a size is always the CPU's answer "
                                             "(each size also runs there)")] = "meta",
    sizes: Annotated[str | None, typer.Option(help='sizes to run, e.g. "H=32,W=32;H=64,W=64" '
                                                   "(default: chosen from the domain, inside and outside)")] = None,
    count: Annotated[int, typer.Option(help="how many sizes to choose from the domain")] = 12,
    format: Annotated[Format, typer.Option("--format", "-f", help="table or json")] = Format.table,
    input: InputOpt = None,
    args: ArgsOpt = None,
    kwargs: KwargsOpt = None,
) -> None:
    """Compare every predicted shape with real torch forward passes (exit 1 on any disagreement).

    A Python target runs its own module (weights replaced by empty tensors); net.yaml runs the
    module that `emit` writes."""
    from ..backends.module_run import has_lazy, module_results
    from ..backends.validate import SIZE_CAP, SizeResult, ValidationReport, _compare, check_device, choose_sizes
    from ..backends.validate import text as validation_text

    file = Path(target)
    try:
        rep, module = _load_report(target, PyOptions(input, args, kwargs))
        check_device(device)
        chosen = _parse_sizes(sizes) if sizes else choose_sizes(rep, count, cap=SIZE_CAP)
        for env in chosen:
            missing = [s for s in rep.domain.symbols if s not in env]
            if missing:
                raise InputError(f"--sizes {env} does not give {', '.join(missing)}", code="bad-usage")
        results: list[SizeResult] = []
        with _progress(len(chosen), f"validating {file.name}") as step:
            for env in chosen:
                results.extend(module_results(module, rep, [env], device) if module is not None
                               else [_compare(rep, env, device)])
                step()
        v = ValidationReport(rep, "cpu" if module is not None and has_lazy(module) else device, results)
    except ShapeplanError as e:
        raise _fail(file, e, format is Format.json) from None
    except (ImportError, RuntimeError) as e:
        _err(f"error[device]: cannot run on {device!r}: {e}")
        raise typer.Exit(2) from None
    except Exception as e:  # noqa: BLE001 - never a traceback for the user
        raise _fail(file, _internal(e, f"validating {target}"), format is Format.json) from None
    if format is Format.json:
        typer.echo(json.dumps(v.to_json(), indent=2))
    else:
        typer.echo(validation_text(v))
    raise typer.Exit(0 if v.ok else 1)


@app.command(name="import")
def import_(
    target: Annotated[str, typer.Argument(help="FILE.py:NAME or MODULE:NAME (an nn.Module, its class, or a factory)",
                                          show_default=False)],
    input: Annotated[str | None, typer.Option(
        "--input", "-i", help='input shape, e.g. "N,3,H,W" (default: forward\'s jaxtyping annotation, else timm\'s '
                              'input_size, else N,3,H,W)', show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the net.yaml here")] = None,
    args: ArgsOpt = None,
    kwargs: KwargsOpt = None,
) -> None:
    """Import an nn.Module (traced with torch.fx) as net.yaml, and report its shapes' domain."""
    from ..api import check
    from ..render.text import diagnostics_text
    from ..render.yaml_out import to_yaml

    try:
        net = load_python(target, PyOptions(input, args, kwargs), default_input="N,3,H,W").network
        rep = check(net)
    except ShapeplanError as e:
        _err(str(e))
        raise typer.Exit(e.exit_code) from None
    except Exception as e:  # noqa: BLE001 - never a traceback for the user
        _err(str(_internal(e, f"importing {target}")))
        raise typer.Exit(2) from None
    valid = str(rep.domain) if rep.ok else "none (see the errors)"
    text = to_yaml(net, header=f"imported by shapeplan from {target}\nvalid inputs: {valid}")
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        _err(f"wrote {output}: {len(net.layers)} layers; valid inputs: {valid}")
    _err(diagnostics_text([d for d in rep.diagnostics if d.severity != "note" or not rep.ok]))
    raise typer.Exit(0 if rep.ok else 1)
