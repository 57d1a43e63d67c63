"""``check``: propagate shapes, decide every condition for all sizes, build the Report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.dims import Dim, Shape, fmt, fmt_shape, free_symbols, norm
from ..core.errors import Diagnostic, Location
from ..core.ir import Network
from .domain.boxes import (
    Box,
    apply_condition,
    base_box,
    box_key,
    closest_value,
    evaluate_show,
    find_violation,
)
from .domain.domain import Domain
from .domain.quasi import NotAnalysable

if TYPE_CHECKING:
    from .costs.records import Costs
from ..core.conditions import Cond
from ..core.sets import TooComplex, USet
from .propagate import Propagation, propagate


@dataclass(frozen=True)
class LayerInfo:
    name: str
    op: str
    inputs: tuple[str, ...]
    shape: Shape | None
    params: Dim | None
    args: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class Report:
    """What ``check`` found: every layer's shape, the diagnostics, and the valid domain."""

    network: Network
    layers: list[LayerInfo]
    diagnostics: list[Diagnostic]
    domain: Domain
    propagation: Propagation = field(repr=False)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics) and not self.domain.empty

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def shapes(self) -> dict[str, Shape | None]:
        out: dict[str, Shape | None] = {k: tuple(v) for k, v in self.network.inputs.items()}
        out.update({li.name: li.shape for li in self.layers})
        return out

    @property
    def outputs(self) -> list[Shape | None]:
        shapes = self.shapes
        return [shapes.get(o) for o in self.network.outputs]

    @property
    def total_params(self) -> Dim:
        return norm(sum((li.params or 0 for li in self.layers), 0))

    def costs(self, dtype: str = "float32") -> Costs:
        """Parameters, MACs/FLOPs, activation memory and receptive fields of every layer, as
        formulas (``.at(H=224, W=224)`` evaluates them); see :mod:`shapeplan.analysis.costs`."""
        from .costs.compute import compute_costs

        return compute_costs(self, dtype)

    def to_json(self, dtype: str = "float32", at: Mapping[str, int] | None = None) -> dict[str, Any]:
        """The report as JSON data; every layer has its ``costs`` (at ``dtype``; with ``at``, also
        their values at those sizes), and ``costs`` holds the totals."""
        costs = self.costs(dtype)
        doc = self._json()
        valued = costs.at(**at) if at else None
        for entry, lc in zip(doc["layers"], costs.layers):
            entry["costs"] = lc.to_json()
            if valued is not None:
                entry["costs"]["at"] = valued[lc.name].values_json()
        summary = costs.to_json()
        del summary["layers"]
        if valued is not None:
            summary["at"] = {"sizes": dict(valued.sizes), "totals": valued.to_json()["totals"]}
        doc["costs"] = summary
        return doc

    def _json(self) -> dict[str, Any]:
        return {
            "network": self.network.name,
            "file": self.network.source,
            "ok": self.ok,
            "inputs": {k: [fmt(d) for d in v] for k, v in self.network.inputs.items()},
            "layers": [
                {
                    "name": li.name,
                    "op": li.op,
                    "inputs": list(li.inputs),
                    "shape": None if li.shape is None else [fmt(d) for d in li.shape],
                    "params": None if li.params is None else fmt(li.params),
                }
                for li in self.layers
            ],
            "outputs": {o: (None if s is None else [fmt(d) for d in s])
                        for o, s in zip(self.network.outputs, self.outputs)},
            "total_params": fmt(self.total_params),
            "domain": self.domain.to_json(),
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }


def _at(env: Mapping[str, int], names: set[str] | frozenset[str]) -> str:
    keys = [k for k in env if k in names] or list(env)
    return ", ".join(f"{k}={env[k]}" for k in keys)


def _project(boxes: list[Box], names: list[str]) -> str:
    parts = []
    boxes = sorted(boxes, key=lambda b: box_key(b, names))
    for box in boxes[:4]:
        text = ", ".join(box[s].describe(s) for s in names)
        if text not in parts:
            parts.append(text)
    more = " (and other combinations)" if len(boxes) > 4 else ""
    return "; or ".join(parts) + more


def analyse(net: Network, prop: Propagation) -> tuple[Domain, list[Diagnostic]]:
    """Decide the symbolic conditions: the domain, and a diagnostic per condition that
    can never hold (error) or that restricts the sizes through an equality (note)."""
    symbols = list(net.symbol_names())
    for c in prop.constraints:
        for s in sorted(free_symbols(c.cond.lhs) | free_symbols(c.cond.rhs)):
            if s not in symbols:
                symbols.append(s)
    bounds = {s: USet.range(info.min, info.max) for s, info in net.symbols.items()}
    boxes: list[Box] = [base_box(symbols, bounds)]
    if any(not b for b in boxes[0].values()):
        boxes = []
    diags: list[Diagnostic] = []
    conditions: list[Cond] = []
    residual: list[Cond] = []
    failed = any(d.severity == "error" for d in prop.diagnostics)
    for c in prop.constraints:
        conditions.append(c.cond)
        if not boxes:
            continue
        try:
            new = apply_condition(boxes, c.cond)
        except (NotAnalysable, TooComplex):
            residual.append(c.cond)
            continue
        names = sorted(free_symbols(c.cond.lhs) | free_symbols(c.cond.rhs), key=symbols.index)
        if not new:
            msg = c.message
            if c.show is not None and not isinstance(c.show, int):
                target = c.cond.rhs if isinstance(c.cond.rhs, int) else None
                env, val = closest_value(boxes, c.show, target, symbols)
                if val is not None:
                    near = "" if target is None else f"; the closest to {target}"
                    msg += f" ({val} at {_at(env, free_symbols(c.show))}{near})"
            msg += "; no input size satisfies this"
            diags.append(Diagnostic("error", c.code, msg, layer=c.layer, hint=c.hint, location=c.location))
            failed = True
            continue  # keep analysing the rest with the sizes valid so far
        if c.cond.kind in ("eq", "dvd") and new != boxes:
            env_bad = find_violation(boxes, new, c.cond, symbols)
            msg = f"{c.message}: this holds only for {_project(new, names)}"
            if env_bad is not None and c.show is not None:
                val = evaluate_show(c.show, env_bad)
                if val is not None:
                    msg += f"; at {_at(env_bad, set(names))} it is {val}"
            diags.append(Diagnostic("note", c.code, msg, layer=c.layer, location=c.location,
                                    hint="the domain below lists every valid size"))
        boxes = new
    domain = Domain(tuple(symbols), [] if failed else boxes, conditions, residual, bounds)
    if not failed and boxes and residual and domain.smallest() is None:
        diags.append(Diagnostic("warning", "domain-search",
                                "no valid input size was found by a bounded search; the network may be invalid for "
                                "every size: " + "; ".join(f"{fmt(r.lhs)} vs {fmt(r.rhs)}" for r in residual)[:300],
                                location=Location(net.source) if net.source else None))
    return domain, diags


def run_check(net: Network, assign: Mapping[tuple[str, str], Any] | None = None, *,
              fixits: bool = False) -> Report:
    """Propagate and analyse ``net``.  With ``fixits``, a merge whose branches never agree
    gets the argument edits that would make them agree in its hint (a few more checks)."""
    prop = propagate(net, assign)
    domain, extra = analyse(net, prop)
    base = prop.diagnostics
    if fixits:
        base = [_with_fixes(net, prop, d, assign) for d in base]
        extra = [_with_fixes(net, prop, d, assign) for d in extra]
    layers = [
        LayerInfo(name, r.layer.op, r.layer.inputs, r.shape, r.params, r.args)
        for name, r in prop.results.items()
    ]
    # keep layers that failed (no result) in the table too, in order
    have = {li.name for li in layers}
    order = {layer.name: i for i, layer in enumerate(net.layers)}
    for layer in net.layers:
        if layer.name not in have:
            layers.append(LayerInfo(layer.name, layer.op, layer.inputs, None, None))
    layers.sort(key=lambda li: order.get(li.name, 0))
    diags = sorted(base + extra, key=_diag_order(order))
    return Report(net, layers, diags, domain, prop)


def _with_fixes(net: Network, prop: Propagation, d: Diagnostic,
                assign: Mapping[tuple[str, str], Any] | None) -> Diagnostic:
    from .fixit import MERGE_CODES, merge_fixes

    if d.severity != "error" or d.code not in MERGE_CODES:
        return d
    fixes = merge_fixes(net, prop, d, lambda n, a: run_check(n, {**(assign or {}), **a}))
    if not fixes:
        return d
    hint = "; or ".join(fixes) + (f"; or {d.hint}" if d.hint else "")
    return Diagnostic(d.severity, d.code, d.message, layer=d.layer, hint=hint, location=d.location)


def _diag_order(order: Mapping[str, int]) -> Any:
    rank = {"error": 0, "warning": 1, "note": 2}

    def key(d: Diagnostic) -> tuple[int, int]:
        return (order.get(d.layer or "", -1), rank.get(d.severity, 3))

    return key


def shape_text(shape: Shape | None) -> str:
    return "?" if shape is None else fmt_shape(shape)
