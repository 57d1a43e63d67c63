"""The cases of a network: sizes where it behaves differently, each analysed on its own.

A network has more than one case where a rule's output depends on whether a size is 1 (a
broadcast, ``squeeze``, ``expand``: :meth:`~shapeplan.ops.ctx.RuleCtx.decide`), and where an
imported ``forward`` branches on sizes (its ``alternatives``, and its refusals: sizes where
forward raises).  Each case is a region of input sizes with its own shapes and its own domain;
the network's domain is their union, and the case that most sizes take is the main one.
What a user should hear about the others is said here: a case that changes a layer's rank or
an output is a warning (``at N = 1, sq (squeeze) gives (16,), so the output is (10,), not
(N, 10)``), a path that forward takes for some sizes or a refusal is a note, and a case whose
sizes are all invalid says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.conditions import Cond
from ..core.dims import Shape, evaluate, fmt, fmt_shape
from ..core.errors import Diagnostic
from ..core.ir import Network, Refusal
from ..core.sets import USet
from .analyse import analyse
from .domain.boxes import Box, box_key
from .domain.domain import Domain
from .propagate import Propagation, propagate
from .region import Region, TooManyPaths, explore

# what to suggest when a case changes the rank of a layer's output, by op
_RANK_HINTS = {
    "squeeze": "squeeze only the dims you mean: x.squeeze(-1).squeeze(-1), or flatten(1)",
    "expand": "expand only dims of size 1, or keep the batch dim with -1",
}


@dataclass
class Case:
    """One case: the sizes it covers (``region``), the network it runs there (a path of
    forward), what propagation and analysis found there, or the refusal of forward."""

    region: Region
    network: Network | None
    propagation: Propagation | None
    domain: Domain
    diagnostics: list[Diagnostic]
    refusal: Refusal | None = None

    def condition(self, base: Region) -> str:
        """The sizes of this case, in words (``N = 1``, ``H mod 32 != 0, H >= 1``)."""
        return describe_region(self.region, base)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"condition": describe_region(self.region, None), "domain": self.domain.to_json()}
        if self.refusal is not None:
            out["refusal"] = self.refusal.message
        if self.propagation is not None:
            out["shapes"] = {k: None if r.shape is None else [fmt(d) for d in r.shape]
                             for k, r in self.propagation.results.items()}
        return out


def describe_region(region: Region, base: Region | None) -> str:
    """``region`` over the symbols where it differs from ``base`` (all of them without one)."""
    if not region.boxes:
        return "no size"
    base_box = base.boxes[0] if base is not None and len(base.boxes) == 1 else None
    names = [s for s in region.symbols
             if base_box is None or any(b[s] != base_box.get(s, USet.range(1)) for b in region.boxes)]
    names = names or list(region.symbols)
    parts: list[str] = []
    for box in sorted(region.boxes, key=lambda b: box_key(b, list(region.symbols)))[:4]:
        text = ", ".join(box[s].describe(s) for s in names)
        if text not in parts:
            parts.append(text)
    more = " (and other combinations)" if len(region.boxes) > 4 else ""
    text = "; or ".join(parts) + more
    if region.residual:
        from ..core.conditions import cond_text

        text += " where " + ", ".join(cond_text(c) for c in region.conditions())
    return text


def _restrict(region: Region, guard: tuple[Cond, ...]) -> Region:
    for c in guard:
        yes, no = region.split(c.positive)
        region = no if c.negative else yes
    return region


def base_region(net: Network) -> Region:
    bounds: dict[str, USet] = {s: USet.range(info.min, info.max) for s, info in net.symbols.items()}
    return Region.everything(list(net.symbol_names()), bounds)


def run_cases(net: Network, assign: Mapping[tuple[str, str], Any] | None = None) -> tuple[Region, list[Case]]:
    """Every case of ``net`` (and of its alternatives), analysed; the base region first."""
    base = base_region(net)
    cases: list[Case] = []
    for n in (net, *(a for a in net.alternatives if isinstance(a, Network))):
        start = _restrict(base, n.guard)
        try:
            paths = explore(lambda d, n=n: propagate(n, assign, oracle=d), start)  # type: ignore[misc]
        except TooManyPaths:
            paths = []
            prop = propagate(n, assign)  # the generic case only, and say so
            prop.diagnostics.append(Diagnostic(
                "warning", "cases", "the shapes change at special sizes (1, 0) in too many ways to analyse each "
                                    "case; only the generic case is shown"))
            domain, diags = analyse(n, prop, start)
            cases.append(Case(start, n, prop, domain, prop.diagnostics + diags))
        for path in paths:
            assert path.result is not None
            domain, diags = analyse(n, path.result, path.region)
            cases.append(Case(path.region, n, path.result, domain, path.result.diagnostics + diags))
    for r in net.alternatives:
        if isinstance(r, Refusal):
            region = _restrict(base, r.guard)
            cases.append(Case(region, None, None, Domain(tuple(region.symbols), []), [], r))
    return base, cases


def main_case(cases: list[Case]) -> Case:
    """The case shown in the table: the first (the most common sizes) that has valid sizes."""
    for c in cases:
        if c.propagation is not None and not c.domain.empty:
            return c
    return next(c for c in cases if c.propagation is not None)


def case_notes(main: Case, others: list[Case], base: Region) -> list[Diagnostic]:
    """What the user should hear about the cases other than the main one."""
    out: list[Diagnostic] = []
    for c in others:
        where = c.condition(base)
        if c.refusal is not None:
            out.append(Diagnostic("note", "refused", f"where {where}, forward refuses the input: {c.refusal.message}",
                                  location=c.refusal.location,
                                  hint="the model's own check; these sizes are not in the valid inputs"))
        elif c.domain.empty:
            out.extend(_invalid_case(c, where))
        elif c.network is not main.network:
            out.append(_other_path(main, c, where))
        else:
            out.extend(_changed_shapes(main, c, where))
    return _grouped(out)


NOTES_PER_CAUSE = 2


def _grouped(notes: list[Diagnostic]) -> list[Diagnostic]:
    """At most NOTES_PER_CAUSE notes for one layer and code (one cause met in many cases, as a
    fusion's broadcast at each combination of sizes), then one that counts the rest
    (``Report.cases`` has them all)."""
    kept: list[Diagnostic] = []
    seen: dict[tuple[str | None, str], int] = {}
    for d in notes:
        key = (d.layer, d.code)
        seen[key] = seen.get(key, 0) + 1
        if d.layer is None or seen[key] <= NOTES_PER_CAUSE:
            kept.append(d)
    for (layer, code), n in seen.items():
        if layer is not None and n > NOTES_PER_CAUSE:
            first = next(d for d in notes if d.layer == layer and d.code == code)
            kept.append(Diagnostic(first.severity, code, f"{layer}: and {n - NOTES_PER_CAUSE} more cases like these "
                                                         "at other sizes", layer=layer, location=first.location,
                                   hint="Report.cases lists every case with its sizes and shapes"))
    return kept


def _invalid_case(c: Case, where: str) -> list[Diagnostic]:
    first = next((d for d in c.diagnostics if d.severity == "error"), None)
    if first is None:
        return []
    return [Diagnostic("note", first.code, f"where {where}: {first.message}", layer=first.layer,
                       location=first.location, hint=first.hint)]


def _other_path(main: Case, c: Case, where: str) -> Diagnostic:
    assert c.network is not None and main.network is not None
    mine = {layer.name for layer in main.network.layers}
    extra = [f"{layer.name} ({layer.op})" for layer in c.network.layers if layer.name not in mine][:3]
    missing = [layer.name for layer in main.network.layers
               if layer.name not in {x.name for x in c.network.layers}][:3]
    parts = []
    if extra:
        parts.append("it adds " + ", ".join(extra))
    if missing:
        parts.append("it skips " + ", ".join(missing))
    return Diagnostic("note", "path", f"where {where}, forward takes another path"
                      + (f" ({'; '.join(parts)})" if parts else ""), location=None)


def _sample(c: Case) -> dict[str, int] | None:
    return c.domain.smallest()


def _value(shape: Shape | None, env: Mapping[str, int]) -> tuple[int, ...] | None:
    if shape is None:
        return None
    try:
        return tuple(evaluate(d, env) for d in shape)
    except (KeyError, ValueError, TypeError, ZeroDivisionError):
        return None


def _changed_shapes(main: Case, c: Case, where: str) -> list[Diagnostic]:
    """A case of the same network whose shapes differ from the main case's at its sizes."""
    assert main.propagation is not None and c.propagation is not None and main.network is not None
    env = _sample(c)
    if env is None:
        return []
    changed = []
    for name, r in c.propagation.results.items():
        m = main.propagation.results.get(name)
        if m is None or r.shape is None or m.shape is None:
            continue
        if len(r.shape) != len(m.shape) or _value(r.shape, env) != _value(m.shape, env):
            changed.append((name, r.layer.op, m.shape, r.shape))
    if not changed:
        return []
    outs = [(o, main.propagation.shape(o), c.propagation.shape(o)) for o in main.network.outputs]
    out_changed = [(o, a, b) for o, a, b in outs if a is not None and b is not None
                   and (len(a) != len(b) or _value(a, env) != _value(b, env))]
    rank = [x for x in changed if len(x[2]) != len(x[3])]
    name, op, before, after = (rank or changed)[0]
    if rank or out_changed:
        text = f"at {where}, {name} ({op}) gives {fmt_shape(after)}"
        if out_changed:
            o, a, b = out_changed[0]
            text += f", so the output{'' if len(outs) == 1 else f' {o}'} is {fmt_shape(b)}, not {fmt_shape(a)}"
        else:
            text += f", not {fmt_shape(before)}"
        return [Diagnostic("warning", "special-case", text, layer=name, location=_loc(c, name),
                           hint=_RANK_HINTS.get(op, "make the sizes such that no dim can be 1 there, or handle "
                                                    "that case"))]
    more = f" (and {len(changed) - 1} more layers)" if len(changed) > 1 else ""
    return [Diagnostic("note", "special-case", f"at {where}, {name} ({op}) gives {fmt_shape(after)} instead of "
                       f"{fmt_shape(before)}{more}", layer=name, location=_loc(c, name))]


def _loc(c: Case, name: str) -> Any:
    if c.network is None:
        return None
    layer = c.network.by_name.get(name)
    return layer.loc() if layer is not None else None


__all__ = ["Case", "Box", "base_region", "case_notes", "describe_region", "main_case", "run_cases"]
