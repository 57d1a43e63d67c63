"""A Network as net.yaml text that :func:`shapeplan.load` reads back to the same network.

One layer per line, as a flow mapping: ``- {name: conv1, op: Conv2d, in_channels: 3, ...}``;
``from`` only where a layer does not read the layer above it.  Symbolic sizes are written
as size expressions (``H//4 - 3``), which the YAML front end parses back exactly.  Every
scalar goes through PyYAML's safe dumper, so names and strings are quoted as needed.
"""

from __future__ import annotations

from typing import Any

import sympy
import yaml

from .dims import fmt
from .ir import Layer, Network
from .ops import REGISTRY
from .ops.base import REQUIRED


def _same(conv: Any, a: Any, b: Any) -> bool:
    try:
        return bool(conv(a) == conv(b))
    except Exception:  # noqa: BLE001 - a value the converter refuses is never "the same"
        return False


def _arguments(layer: Layer) -> dict[str, Any]:
    """The layer's keyword arguments without those equal to the op's defaults, and
    ``[5, 5]`` written as ``5`` where the op takes one value for all dims."""
    spec = REGISTRY.get(layer.op)
    out: dict[str, Any] = {}
    for k, v in layer.kwargs.items():
        p = spec.param(k) if spec else None
        if p is not None and p.default is not REQUIRED and _same(p.conv, v, p.default):
            continue
        if (p is not None and isinstance(v, (list, tuple)) and len(v) > 1 and all(x == v[0] for x in v)
                and isinstance(v[0], int) and _same(p.conv, v[0], v)):
            v = v[0]
        out[k] = v
    return out


def _value(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, (int, float, str)):
        return v
    if isinstance(v, sympy.Integer):
        return int(v)
    if isinstance(v, sympy.Expr):
        return fmt(v)
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _value(x) for k, x in v.items()}
    raise TypeError(f"cannot write {type(v).__name__} {v!r} to YAML")


def _flow(v: Any) -> str:
    text: str = yaml.safe_dump(v, default_flow_style=True, width=1 << 30, sort_keys=False, allow_unicode=False)
    return text.strip().removesuffix("...").strip()


def to_yaml(net: Network, *, header: str | None = None) -> str:
    """The network as net.yaml text (see the module docstring)."""
    lines: list[str] = []
    if header:
        lines += [f"# {h}".rstrip() for h in header.splitlines()]
    lines.append(f"name: {_flow(net.name)}")
    inputs = {k: [_value(d) for d in v] for k, v in net.inputs.items()}
    if list(inputs) == ["x"]:
        lines.append(f"input: {_flow(inputs['x'])}")
    else:
        lines.append("inputs:")
        for k, v in inputs.items():
            lines.append(f"  {_flow(k)}: {_flow(v)}")
    bounded = {k: s for k, s in net.symbols.items() if s.min != 1 or s.max is not None}
    if bounded:
        lines.append("symbols:")
        for k, s in bounded.items():
            b: dict[str, int] = {"min": s.min}
            if s.max is not None:
                b["max"] = s.max
            lines.append(f"  {k}: {_flow(b)}")
    lines.append("layers:")
    prev = next(iter(net.inputs), None)
    for layer in net.layers:
        entry: dict[str, Any] = {"name": layer.name, "op": layer.op}
        if list(layer.inputs) != ([prev] if prev is not None else []) or not layer.inputs:
            if len(layer.inputs) == 1:
                entry["from"] = layer.inputs[0]
            else:
                entry["from"] = list(layer.inputs)
        if layer.args:
            entry["args"] = _value(list(layer.args))
        for k, v in _arguments(layer).items():
            entry[k] = _value(v)
        if layer.expect is not None:
            entry["expect"] = _value(list(layer.expect))
        lines.append(f"  - {_flow(entry)}")
        prev = layer.name
    last = net.layers[-1].name if net.layers else None
    if list(net.outputs) != ([last] if last else []):
        lines.append(f"outputs: {_flow(list(net.outputs))}")
    return "\n".join(lines) + "\n"
