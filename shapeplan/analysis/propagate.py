"""Shape propagation: walk the graph in order, apply each op's rule, collect constraints.

The result is, for every layer, its output shape (exact, symbolic in the input's symbols)
and the list of conditions under which PyTorch's forward pass runs.  Conditions that are
decided by the numbers alone become diagnostics here; the symbolic ones go to the domain
analysis (:mod:`shapeplan.analysis.domain`), which decides them for every input size at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import sympy

from ..core.conditions import Constraint, eq, ge
from ..core.dims import Dim, Shape, evaluate, fmt, fmt_shape, free_symbols, norm, sym
from ..core.errors import Diagnostic, Location
from ..core.ir import Layer, Network
from ..ops import REGISTRY, OpSpec
from ..ops.apply import apply_rule
from ..ops.ctx import ArgError, Oracle, RuleError
from ..ops.layout import Layout
from ..ops.layouts import output_layout
from ..ops.params import SOLVE
from ..ops.registry import bind, resolve_auto

# which argument a failure code points at, when the rule did not say
_CODE_PARAM = {
    "in-features": "in_features",
    "in-channels": "in_channels",
    "num-features": "num_features",
    "kernel-too-large": "kernel_size",
    "groups": "groups",
    "output-padding": "output_padding",
}


@dataclass
class LayerResult:
    layer: Layer
    spec: OpSpec
    args: dict[str, Any]
    inputs: tuple[Shape, ...]
    shape: Shape | None
    params: Dim | None = None
    auto: dict[str, Dim] = field(default_factory=dict)


@dataclass
class Propagation:
    network: Network
    results: dict[str, LayerResult]
    constraints: list[Constraint]
    diagnostics: list[Diagnostic]

    def shape(self, name: str) -> Shape | None:
        if name in self.network.inputs:
            return tuple(self.network.inputs[name])
        r = self.results.get(name)
        return r.shape if r else None


def layer_order(net: Network) -> list[Layer]:
    """Layers in a topological order that keeps the written order where it can."""
    index = {layer.name: i for i, layer in enumerate(net.layers)}
    if all(index.get(src, -1) < i for i, layer in enumerate(net.layers) for src in layer.inputs):
        return list(net.layers)
    order = nx.lexicographical_topological_sort(net.graph, key=lambda n: (index.get(n, -1), n))
    return [net.by_name[n] for n in order if n in net.by_name]


def param_location(layer: Layer, spec: OpSpec, param: str | None) -> Location | None:
    if param is None:
        return layer.loc()
    if param in layer.kwargs:
        return layer.loc(param)
    names = [p.name for p in spec.params]
    if param in names and names.index(param) < len(layer.args):
        return layer.loc(f"args.{names.index(param)}", "args")
    return layer.loc()


def propagate(net: Network, assign: Mapping[tuple[str, str], Any] | None = None,
              oracle: Oracle | None = None) -> Propagation:
    """Propagate shapes through ``net``.  ``assign`` gives values to `solve` unknowns; ``oracle``
    answers the rules' questions about sizes for the case being propagated (see
    :func:`shapeplan.analysis.region.explore`).

    One pass over the layers in order, each step reading the state the earlier ones left (shapes,
    layouts, the oracle's assumptions): kept as one loop so that the order of those effects reads
    top to bottom; the steps that need no state are helpers."""
    assign = assign or {}
    results: dict[str, LayerResult] = {}
    constraints: list[Constraint] = []
    diags: list[Diagnostic] = list(getattr(net, "_load_diagnostics", ()))
    shapes: dict[str, Shape | None] = {k: tuple(v) for k, v in net.inputs.items()}
    layouts: dict[str, Layout] = {}  # how each tensor lies in memory (inputs: contiguous)
    constraints.extend(_input_constraints(net))

    # symbols pinned in `symbols` ({H: 32}): an `auto` size that depends only on them is a number
    pinned = {sym(s): info.min for s, info in net.symbols.items() if info.max is not None and info.max == info.min}
    for layer in layer_order(net):
        spec = REGISTRY[layer.op]
        xs = [shapes.get(src) for src in layer.inputs]
        if any(x is None for x in xs):
            shapes[layer.name] = None  # an upstream layer failed; say nothing more here
            continue
        ins: list[Shape] = [x for x in xs if x is not None]
        label = f"{layer.name} ({layer.op})"

        def error(code: str, message: str, hint: str | None, param: str | None, *,
                  _layer: Layer = layer, _spec: OpSpec = spec, _label: str = label) -> None:
            diags.append(Diagnostic("error", code, f"{_label} {message}", layer=_layer.name, hint=hint,
                                    location=param_location(_layer, _spec, param)))

        got = _arguments(layer, spec, assign, ins, pinned, error)
        if got is None:
            shapes[layer.name] = None
            continue
        bound, args = got
        try:
            out, requirements, ctx = apply_rule(spec, ins, args, oracle, [
                layouts.setdefault(src, Layout.contiguous(x)) for src, x in zip(layer.inputs, ins, strict=True)])
            layouts[layer.name] = output_layout(spec.name, ctx, ins, args, out)
        except RuleError as e:
            error(e.code, e.message, e.hint, e.param)
            shapes[layer.name] = None
            continue
        except (ArgError, ValueError, TypeError, ZeroDivisionError) as e:
            error("internal", f"could not be analysed: {e}", "please report this as a shapeplan bug", None)
            shapes[layer.name] = None
            continue
        autos = {p.name: args[p.name] for p in spec.params if bound.get(p.name) is not args.get(p.name)
                 and p.auto is not None and _is_dim(args[p.name])}
        diags.extend(_auto_notes(layer, spec, label, autos))
        if oracle is not None:  # later questions are asked only where this layer runs
            for req in requirements:
                oracle.assume(req.cond)
        for req in requirements:
            param = req.param or _CODE_PARAM.get(req.code)
            c = Constraint(req.cond, layer.name, layer.op, req.code, f"{label} {req.message}", req.hint,
                           req.show, param_location(layer, spec, param))
            decided = req.cond.concrete()
            if decided is False:
                diags.append(Diagnostic("error", req.code, c.message, layer=layer.name, hint=req.hint,
                                        location=c.location))
            elif decided is None:
                constraints.append(c)
        if layer.expect is not None:
            _check_expect(layer, spec, out, label, diags, constraints)
        params = spec.param_count(args) if spec.param_count else 0
        results[layer.name] = LayerResult(layer, spec, args, tuple(ins), out, norm(params), autos)
        shapes[layer.name] = out
    return Propagation(net, results, constraints, diags)


def _arguments(layer: Layer, spec: OpSpec, assign: Mapping[tuple[str, str], Any], ins: list[Shape],
               pinned: Mapping[Any, int], error: Callable[..., None]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(bound, resolved) arguments of ``layer``: `solve` values assigned, `auto` resolved and
    pinned; None after reporting an unknown left or a bad argument."""
    try:
        bound = bind(spec, layer.args, layer.kwargs)
        for (lname, pname), value in assign.items():
            if lname == layer.name:
                p = spec.param(pname)
                bound[pname] = p.conv(value) if p is not None else value
        unsolved = [k for k, v in bound.items() if v is SOLVE]
        if unsolved:
            error("unsolved", f"has unknown {', '.join(unsolved)} (`solve`)",
                  "run `shapeplan solve` to find the values", unsolved[0])
            return None
        args = resolve_auto(spec, bound, ins)
        return bound, (_pin_autos(spec, bound, args, pinned) if pinned else args)
    except ArgError as e:
        error("bad-argument", e.message, e.hint, e.param)
        return None


def _input_constraints(net: Network) -> list[Constraint]:
    """An input dim written as an expression (``H // 2``, ``a - b``) is a size only where it is >= 0."""
    out: list[Constraint] = []
    for iname, ishape in net.inputs.items():
        for i, d in enumerate(ishape):
            if not isinstance(d, (int, sympy.Symbol)):
                cond = ge(d, 0)
                if cond.concrete() is not True:
                    out.append(Constraint(cond, iname, "input", "input-size", f"input {iname} dim {i} = {fmt(d)} "
                                          "must be >= 0", None, d, net.input_locs.get(iname)))
    return out


def _auto_notes(layer: Layer, spec: OpSpec, label: str, autos: Mapping[str, Any]) -> list[Diagnostic]:
    """A note for each ``auto`` value that depends on the input's symbols, with the ways out."""
    notes: list[Diagnostic] = []
    for pname, value in autos.items():
        if not isinstance(value, int):
            names = ", ".join(sorted(free_symbols(value)))
            notes.append(Diagnostic(
                "note", "auto-symbolic", f"{label} {pname}: auto is {fmt(value)}, which depends on {names}",
                layer=layer.name, location=param_location(layer, spec, pname),
                hint=f"choose one: pin {names} in `input` or `symbols` (then it is one number); insert an "
                     f"adaptive pool (e.g. AdaptiveAvgPool2d) so that the size no longer depends on {names}; "
                     f"or keep the formula (`shapeplan emit` then uses torch's Lazy module, or a constructor "
                     f"argument for the input size)",
            ))
    return notes


def _pin_autos(spec: OpSpec, bound: dict[str, Any], args: dict[str, Any], pinned: Mapping[Any, int]) -> dict[str, Any]:
    out = dict(args)
    for p in spec.params:
        v = args.get(p.name)
        if (p.auto is not None and bound.get(p.name) is not v and isinstance(v, sympy.Expr)
                and v.free_symbols and v.free_symbols <= set(pinned)):
            out[p.name] = int(evaluate(v, {str(k): n for k, n in pinned.items()}))
    return out


def _is_dim(v: object) -> bool:
    return not isinstance(v, (bool, str, tuple, list, type(None), float))


def _check_expect(layer: Layer, spec: OpSpec, out: Shape, label: str, diags: list[Diagnostic],
                  constraints: list[Constraint]) -> None:
    exp = layer.expect
    assert exp is not None
    loc = layer.loc("expect")
    if len(exp) != len(out):
        diags.append(Diagnostic("error", "expect", f"{label} output {fmt_shape(out)} has {len(out)} dims, "
                                f"but `expect` has {len(exp)}", layer=layer.name, location=loc,
                                hint=f"set expect: [{', '.join(fmt(d) for d in out)}]"))
        return
    for i, (want, got) in enumerate(zip(exp, out)):
        if want is None:
            continue
        cond = eq(got, want)
        msg = f"{label} output dim {i} is {fmt(got)}, but `expect` says {fmt(want)}"
        c = Constraint(cond, layer.name, layer.op, "expect", msg,
                       f"the output is {fmt_shape(out)}", norm(got - want), loc)
        decided = cond.concrete()
        if decided is False:
            diags.append(Diagnostic("error", "expect", msg, layer=layer.name, hint=c.hint, location=loc))
        elif decided is None:
            constraints.append(c)
