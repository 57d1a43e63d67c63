"""The public entry points: load a network, check it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

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
