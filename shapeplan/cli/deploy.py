"""The deployment commands of the CLI: ``export-spec`` (torch.export dynamic shapes, proven).

Registered on :data:`shapeplan.cli.app.app` when :mod:`shapeplan.cli` is imported; torch is
imported only when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.errors import InputError, ShapeplanError
from .app import Format, _err, _internal, app
from .targets import ArgsOpt, InputOpt, KwargsOpt, PyOptions, check_options, is_python, load_python


def load_target(target: str, py: PyOptions) -> Any:
    """A net.yaml file (a Network), or a Python target (``FILE.py:NAME`` / ``MOD:ATTR``, made
    as every command makes it) with its input shape: what ``export_specs`` takes, as (model,
    input shape)."""
    from .. import api

    if not is_python(target):
        check_options([target], py)
        return api.load(Path(target)), None
    imported = load_python(target, py, default_input="N,3,H,W")
    shapes = list(imported.network.inputs.values())
    if len(shapes) != 1:
        raise InputError(f"export-spec takes a model of one input; {target} has {len(shapes)}", code="bad-usage")
    return imported.module, tuple(d if isinstance(d, int) else str(d) for d in shapes[0])


@app.command(name="export-spec")
def export_spec(
    target: Annotated[str, typer.Argument(help="FILE.py:NAME or MODULE:ATTR (an nn.Module, its class or a factory), "
                                               "or a net.yaml", show_default=False)],
    max_specs: Annotated[int, typer.Option(help="at most this many specs (one per piece of the sizes)")] = 8,
    format: Annotated[Format, typer.Option("--format", "-f", help="table (the Python to paste) or json")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the Python here")] = None,
    input: InputOpt = None,
    args: ArgsOpt = None,
    kwargs: KwargsOpt = None,
) -> None:
    """torch.export dynamic_shapes for the sizes where the model runs, each proven by exporting it.

    Prints the Python that exports the model (one export per piece of the sizes that one Dim per
    size cannot name); the valid sizes that no spec holds are listed after it, with the reason.
    Exit 0 when there is a spec, 1 when no size can be exported with dynamic sizes.
    """
    from ..backends.export import export_specs

    try:
        model, shape = load_target(target, PyOptions(input, args, kwargs))
        specs = export_specs(model, shape, max_specs=max_specs)
    except ShapeplanError as e:
        _err(str(e))
        raise typer.Exit(e.exit_code) from None
    except Exception as e:  # noqa: BLE001 - never a traceback for the user
        _err(str(_internal(e, f"exporting {target}")))
        raise typer.Exit(2) from None
    if format is Format.json:
        text = json.dumps(specs.to_json(), indent=2) + "\n"
    else:
        text = specs.source
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        _err(f"wrote {output}: {len(specs)} spec(s)")
    for ex in specs.excluded:
        _err(f"note: not covered: {ex}")
    raise typer.Exit(0 if specs else 1)
