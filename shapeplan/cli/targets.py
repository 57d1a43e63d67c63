"""What a command's FILE names: a net.yaml file, or a Python target (``models.py:Net``).

A Python target is imported, built and traced (:mod:`shapeplan.frontends.pytarget`) with the
options every file-taking command shares: ``--input`` (the input shape; default: what the
module declares), ``--args`` and ``--kwargs`` (the constructor's arguments, as JSON).  After
that it is checked exactly as a net.yaml file is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from ..core.errors import InputError, Location, ShapeplanError
from ..core.ir import Network

InputOpt = Annotated[str | None, typer.Option(
    "--input", "-i", help='for FILE.py:NAME: the input shape, e.g. "N,3,H,W" (names are symbols, numbers fixed '
                          "sizes; default: forward's jaxtyping annotation, else timm's input_size)",
    show_default=False)]
ArgsOpt = Annotated[str | None, typer.Option(
    "--args", help="for FILE.py:NAME: the constructor's (or factory's) positional arguments, a JSON list",
    show_default=False)]
KwargsOpt = Annotated[str | None, typer.Option(
    "--kwargs", help='for FILE.py:NAME: its keyword arguments, a JSON object, e.g. \'{"num_classes": 10}\'',
    show_default=False)]

TARGET_HELP = "net.yaml, or a Python target FILE.py:NAME / MODULE:NAME (an nn.Module, its class or a factory)"


@dataclass(frozen=True)
class PyOptions:
    """The options that make a Python target's module and input."""

    input: str | None = None
    args: str | None = None
    kwargs: str | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.input, self.args, self.kwargs))

    def constructor(self) -> tuple[list[Any], dict[str, Any]]:
        """The parsed ``--args`` and ``--kwargs``."""
        args = _json(self.args, "--args", list, "[10]") if self.args is not None else []
        kwargs = _json(self.kwargs, "--kwargs", dict, '{"num_classes": 10}') if self.kwargs is not None else {}
        return args, kwargs


def _json(text: str, option: str, kind: type, example: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{option} is not valid JSON: {e}", code="bad-usage", hint=f"e.g. {option} '{example}'") from None
    if not isinstance(value, kind):
        raise InputError(f"{option} must be a JSON {'list' if kind is list else 'object'}, got {text!r}",
                         code="bad-usage", hint=f"e.g. {option} '{example}'")
    return value


def is_python(target: str) -> bool:
    from ..frontends.pytarget import is_python_target

    return is_python_target(target)


def check_options(targets: list[str], py: PyOptions) -> None:
    """``--input``/``--args``/``--kwargs`` without any Python target is a usage error."""
    if py.given and not any(is_python(t) for t in targets):
        raise InputError("--input, --args and --kwargs apply to a Python target (FILE.py:NAME), not to net.yaml",
                         code="bad-usage", hint="net.yaml gives its input shape with `input:`")


def load_python(target: str, py: PyOptions, default_input: str | None = None) -> Any:
    """The :class:`~shapeplan.frontends.pytarget.Imported` target (network, module, notes);
    without ``--input``, the shape the module declares, else ``default_input``."""
    from ..frontends.pytarget import load_python as load
    from ..frontends.pytarget import parse_input

    try:
        args, kwargs = py.constructor()
        shape = parse_input(py.input) if py.input is not None else None
        default = parse_input(default_input) if default_input is not None else None
        return load(target, shape, args, kwargs, default_input=default)
    except ShapeplanError as e:
        raise _located(e, target) from None


def _located(e: ShapeplanError, target: str) -> ShapeplanError:
    """``e`` with its diagnostics that point nowhere pointing at ``target``."""
    if all(d.location is not None for d in e.diagnostics):
        return e
    here = Location(target)
    diags = [d if d.location is not None else replace(d, location=here) for d in e.diagnostics]
    return type(e)(e.message, code=e.code, hint=e.hint, layer=e.layer, location=e.location or here,
                   diagnostics=diags)


def load_network(target: str, py: PyOptions, *, only: bool = False) -> Network:
    """The network ``target`` names: a Python target imported, else net.yaml read.  ``only``:
    ``target`` is the command's one file (the Python options without a Python target are an error)."""
    from .. import api

    if only:
        check_options([target], py)
    if is_python(target):
        net: Network = load_python(target, py).network
        return net
    return api.load(Path(target))

