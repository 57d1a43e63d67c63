"""The public entry points: load a network, check it, print its summary."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO, Union

from .analysis.check import Report, run_check
from .core.errors import InputError
from .core.ir import Network
from .frontends.yaml.network import load_dict, network_from_doc
from .frontends.yaml.source import parse_yaml, read_text

Source = Union[str, "os.PathLike[str]", Mapping[str, Any], Network]


def load(src: Source) -> Network:
    """Read a network: a path to net.yaml, YAML text, a dict, or a Network (returned as is).

    Raises :class:`shapeplan.InputError` (with one diagnostic per problem) when the file
    cannot be read, is not valid YAML, or names unknown ops or bad arguments.
    """
    if isinstance(src, Network):
        return src
    if isinstance(src, Mapping):
        return load_dict(src)
    if isinstance(src, os.PathLike):
        path = os.fspath(src)
        return network_from_doc(parse_yaml(read_text(path), path))
    if isinstance(src, str):
        looks_like_path = bool(src.strip()) and "\n" not in src and (
            src.endswith((".yaml", ".yml")) or (len(src) < 4096 and Path(src).exists()))
        if looks_like_path:
            return network_from_doc(parse_yaml(read_text(src), src))
        return network_from_doc(parse_yaml(src, None))
    raise InputError(f"cannot load a network from {type(src).__name__}", code="file")


def check(net: Source) -> Report:
    """Every layer's output shape (symbolic), the diagnostics, and the valid input domain."""
    return run_check(load(net), fixits=True)


def summary(model: Any, input_shape: Any = ("N", 3, "H", "W"), depth: int = 3, *,
            at: Mapping[str, int] | None = None, file: TextIO | None = None) -> Report:
    """Print the layer table of ``model`` and return its :class:`~shapeplan.Report`.

    ``model``: an ``nn.Module`` (traced with :func:`shapeplan.from_torch` at ``input_shape``,
    ints and symbol names), or what :func:`shapeplan.check` takes (a net.yaml path, YAML text,
    a Network; ``input_shape`` is then unused).  ``depth``: modules down to this depth are
    rows, deeper layers are folded into them (torchinfo's ``depth``).  ``at``: values at these
    sizes instead of formulas.  ``file``: where to print (default: stdout).
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    if hasattr(model, "named_modules") and hasattr(model, "forward"):
        from .frontends.torch.importer import from_torch

        rep = check(from_torch(model, input_shape))
        owner: Any = model
    else:
        rep = check(model)
        owner = None
    from .render.summary import summary_text

    print(summary_text(rep, depth, owner, at), file=file or sys.stdout)
    return rep
