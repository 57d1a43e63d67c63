"""Hints in the user's own terms for a network read from an ``nn.Module``: the constructor to
write (``nn.Linear(in_features=576, out_features=120)``, or its Lazy form that sizes itself at
the first forward), never net.yaml keys."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..core.dims import fmt, free_symbols
from ..core.errors import Diagnostic
from ..core.ir import Network
from ..ops import REGISTRY
from ..ops.calls import call_source, py_value
from ..ops.params import REQUIRED
from .propagate import Propagation

# the argument a mismatch is about, and where the input has its value
_FIXES = {"in-features": ("in_features", -1), "in-channels": ("in_channels", 1), "num-features": ("num_features", 1)}
# the Lazy module that infers that argument, by op
_LAZY = {"Linear": "LazyLinear", **{f"Conv{n}d": f"LazyConv{n}d" for n in (1, 2, 3)},
         **{f"ConvTranspose{n}d": f"LazyConvTranspose{n}d" for n in (1, 2, 3)},
         **{f"BatchNorm{n}d": f"LazyBatchNorm{n}d" for n in (1, 2, 3)},
         **{f"InstanceNorm{n}d": f"LazyInstanceNorm{n}d" for n in (1, 2, 3)}}


def python_hints(net: Network, prop: Propagation, diags: list[Diagnostic]) -> list[Diagnostic]:
    """``diags`` with the hints of argument mismatches written as Python (torch-origin networks)."""
    if net.origin != "torch":
        return diags
    return [_rewrite(prop, d) for d in diags]


def _lazy_note(prop: Propagation, d: Diagnostic) -> Diagnostic:
    """``fc1 (nn.LazyLinear(120)) will have in_features = 16*((H - 4)//4)**2``: what a Lazy module
    takes from its first input."""
    r = prop.results.get(d.layer or "")
    if r is None or not r.auto:
        return d
    param, value = next(iter(r.auto.items()))
    lazy = _lazy_source(r.layer.op, r.args, param)
    names = ", ".join(sorted(free_symbols(value)))
    return replace(d, message=f"{d.layer} ({lazy or r.layer.op}) will have {param} = {fmt(value)}, which depends "
                              f"on {names}",
                   hint=f"its first forward fixes {param}; a later input whose {names} gives another value fails. "
                        f"For one size: pass it in the input shape; for every size: an nn.AdaptiveAvgPool before it")


def _rewrite(prop: Propagation, d: Diagnostic) -> Diagnostic:
    if d.code == "auto-symbolic":
        return _lazy_note(prop, d)
    fix = _FIXES.get(d.code)
    r = prop.results.get(d.layer or "")
    if fix is None or r is None or not r.inputs:
        return d
    param, axis = fix
    x = r.inputs[0]
    if param != "in_features" and len(x) < 2:
        return d
    got = x[axis] if param == "in_features" else (x[1] if len(x) >= 2 else x[0])
    spec = REGISTRY[r.layer.op]
    where = f" at {d.location}" if d.location is not None and d.location.line is not None else ""
    lazy = _lazy_source(r.layer.op, r.args, param)
    if isinstance(got, int):
        fixed = module_source(r.layer.op, {**r.args, param: got}) if spec.kind == "module" else \
            call_source(spec, [], {**r.args, param: got})
        hint = f"write {fixed}{where}" + (f", or {lazy}, which takes {param} from its first input" if lazy else "")
    else:
        names = ", ".join(sorted(free_symbols(got)))
        hint = (f"the input has {fmt(got)} {'features' if param == 'in_features' else 'channels'}, which depends "
                f"on {names}: " + (f"use {lazy}{where}, which takes {param} from its first input, " if lazy else "")
                + f"or pass a fixed {names} in the input shape, or add an nn.AdaptiveAvgPool before it")
    return replace(d, hint=hint)


def module_source(op: str, args: dict[str, Any], name: str | None = None, skip: str | None = None) -> str:
    """``nn.Conv2d(8, 16, 3, padding=1)``: the required arguments by position, the others by
    keyword when they differ from the default, an int for a tuple of equal ints.  ``skip``: an
    argument the constructor does not take (a Lazy module's inferred one)."""
    spec = REGISTRY[op]

    def short(v: Any) -> str:
        if isinstance(v, tuple) and v and all(x == v[0] for x in v) and isinstance(v[0], int):
            return py_value(v[0])
        return py_value(v)

    parts: list[str] = []
    positional = True
    for p in spec.params:
        if p.name == skip:
            continue
        if p.name not in args:
            positional = False
            continue
        v = args[p.name]
        if p.default is REQUIRED and positional:
            parts.append(short(v))
            continue
        positional = False
        if p.default is not REQUIRED and call_source(spec, [], {p.name: v}) == call_source(spec, [], {}):
            continue  # the default
        parts.append(f"{p.name}={short(v)}")
    return f"nn.{name or op}({', '.join(parts)})"


def _lazy_source(op: str, args: dict[str, Any], param: str) -> str | None:
    lazy = _LAZY.get(op)
    if lazy is None:
        return None
    return module_source(op, args, lazy, skip=param)
