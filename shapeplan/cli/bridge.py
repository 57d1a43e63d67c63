"""The torch-bridge commands of the CLI: ``emit``, ``validate`` and ``import``.

Registered on :data:`shapeplan.cli.app.app` when :mod:`shapeplan.cli` is imported; torch is
imported only when one of them runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.errors import InputError, ShapeplanError
from .app import Format, _err, _fail, app


def _load_report(file: Path) -> Any:
    """The checked network; `solve` unknowns take their first solution (emit and validate
    work on the network as it will be built)."""
    from .. import api
    from ..analysis.solve import unknowns
    from ..backends.emit import solved_report

    net = api.load(file)
    return solved_report(net) if unknowns(net) else api.check(net)


@app.command()
def emit(
    file: Annotated[Path, typer.Argument(help="net.yaml", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the source here")] = None,
    guard: Annotated[bool, typer.Option("--guard", help="forward first checks the input sizes (ValueError with the "
                                                        "rule and the nearest valid sizes)")] = False,
) -> None:
    """Ready-to-use nn.Module source: layers in __init__, a forward with shape comments."""
    from ..backends.emit import emit as make_source
    from ..render.text import diagnostics_text

    try:
        rep = _load_report(file)
        src = make_source(rep, guard=guard)
    except ShapeplanError as e:
        _err(str(e))
        raise typer.Exit(e.exit_code) from None
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
    file: Annotated[Path, typer.Argument(help="net.yaml", show_default=False)],
    device: Annotated[str, typer.Option(help="where the layer shapes are computed: meta (no memory, no compute) or "
                                             "cpu / cuda; whether torch accepts a size is always the CPU's answer "
                                             "(each size also runs there)")] = "meta",
    sizes: Annotated[str | None, typer.Option(help='sizes to run, e.g. "H=32,W=32;H=64,W=64" '
                                                   "(default: chosen from the domain, inside and outside)")] = None,
    count: Annotated[int, typer.Option(help="how many sizes to choose from the domain")] = 12,
    format: Annotated[Format, typer.Option("--format", "-f", help="table or json")] = Format.table,
) -> None:
    """Compare every predicted shape with real torch forward passes (exit 1 on any disagreement)."""
    from ..backends.validate import SIZE_CAP, SizeResult, ValidationReport, _compare, check_device, choose_sizes
    from ..backends.validate import text as validation_text

    try:
        rep = _load_report(file)
        check_device(device)
        chosen = _parse_sizes(sizes) if sizes else choose_sizes(rep, count, cap=SIZE_CAP)
        for env in chosen:
            missing = [s for s in rep.domain.symbols if s not in env]
            if missing:
                raise InputError(f"--sizes {env} does not give {', '.join(missing)}", code="bad-usage")
        results: list[SizeResult] = []
        with _progress(len(chosen), f"validating {file.name}") as step:
            for env in chosen:
                results.append(_compare(rep, env, device))
                step()
        v = ValidationReport(rep, device, results)
    except ShapeplanError as e:
        raise _fail(file, e, format is Format.json) from None
    except (ImportError, RuntimeError) as e:
        _err(f"error[device]: cannot run on {device!r}: {e}")
        raise typer.Exit(2) from None
    if format is Format.json:
        typer.echo(json.dumps(v.to_json(), indent=2))
    else:
        typer.echo(validation_text(v))
    raise typer.Exit(0 if v.ok else 1)


def _resolve(target: str) -> Any:
    """``package.module:Attr`` or ``path/to/file.py:Attr`` -> the object."""
    mod_name, sep, attr = target.partition(":")
    if not sep or not attr:
        raise InputError(f"expected MODULE:ATTR, got {target!r}", code="bad-usage",
                         hint="e.g. mypkg.models:Net or models.py:Net")
    try:
        if mod_name.endswith(".py") or "/" in mod_name:
            path = Path(mod_name)
            if not path.is_file():
                raise InputError(f"no such file: {mod_name}", code="file")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise InputError(f"cannot import {mod_name}", code="import")
            module = importlib.util.module_from_spec(spec)
            sys.modules.setdefault(path.stem, module)
            sys.path.insert(0, str(path.resolve().parent))
            spec.loader.exec_module(module)
        else:
            sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(mod_name)
    except ShapeplanError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's module may raise anything while importing
        raise InputError(f"cannot import {mod_name}: {type(e).__name__}: {e}"[:500], code="import") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InputError(f"{mod_name} has no attribute {attr!r}", code="import")
        obj = getattr(obj, part)
    return obj


def _instantiate(obj: Any, target: str) -> Any:
    import torch.nn as nn

    if isinstance(obj, nn.Module):
        return obj
    if callable(obj):
        try:
            try:
                with _meta_device():
                    made = obj()
            except Exception:  # noqa: BLE001 - some constructors compute with tensors: build on cpu
                made = obj()
        except Exception as e:  # noqa: BLE001 - the user's constructor may raise anything
            raise InputError(f"cannot build {target} with no arguments: {type(e).__name__}: {e}"[:500],
                             code="import", hint="point at a module instance or a factory taking no arguments") from None
        if isinstance(made, nn.Module):
            return made
    raise InputError(f"{target} is not an nn.Module, a module class or a factory of one", code="import")


@contextmanager
def _meta_device() -> Iterator[None]:
    """Build on the meta device: no weights are allocated (shapes are all that matter)."""
    import torch

    with torch.device("meta"):
        yield


def _parse_input(text: str) -> list[int | str]:
    out: list[int | str] = []
    for item in text.replace("(", "").replace(")", "").split(","):
        item = item.strip()
        if not item:
            continue
        out.append(int(item) if item.isdigit() else item)
    return out


@app.command(name="import")
def import_(
    target: Annotated[str, typer.Argument(help="MODULE:ATTR (an nn.Module, its class, or a factory)",
                                          show_default=False)],
    input: Annotated[str, typer.Option("--input", "-i", help='input shape, e.g. "N,3,H,W"')] = "N,3,H,W",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the net.yaml here")] = None,
) -> None:
    """Import an nn.Module (traced with torch.fx) as net.yaml, and report its shapes' domain."""
    from ..api import check
    from ..frontends.torch.importer import from_torch
    from ..render.yaml_out import to_yaml

    try:
        module = _instantiate(_resolve(target), target)
        net = from_torch(module, _parse_input(input))
        rep = check(net)
    except ShapeplanError as e:
        _err(str(e))
        raise typer.Exit(e.exit_code) from None
    text = to_yaml(net, header=f"imported by shapeplan from {target}\nvalid inputs: {rep.domain}")
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        _err(f"wrote {output}: {len(net.layers)} layers; valid inputs: {rep.domain}")
    raise typer.Exit(0 if rep.ok else 1)
