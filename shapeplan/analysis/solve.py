"""``solve``: fill ``auto`` values, find ``solve`` unknowns, and write the YAML back.

An unknown is found by trying every value in a bounded range, smallest first (each try is
one exact symbolic check, a few milliseconds).  A value is a solution when the network is
valid for some input size and every ``expect`` holds wherever it is valid (an ``expect``
that holds only at some sizes is not a solution).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..core.dims import Dim, fmt, norm
from ..core.errors import Diagnostic
from ..core.ir import Network
from ..ops import REGISTRY
from ..ops.ctx import ArgError
from ..ops.params import SOLVE
from ..ops.registry import bind
from .check import Report, run_check
from .propagate import param_location

_RANGES = {"kernel_size": (1, 16), "stride": (1, 16), "dilation": (1, 16), "padding": (0, 16),
           "output_padding": (0, 15), "groups": (1, 64)}
DEFAULT_RANGE = (1, 1024)
MAX_TRIES = 20_000


@dataclass
class Solution:
    values: dict[tuple[str, str], int]
    report: Report
    restricts: bool = False  # an `expect` holds only at some of the sizes where the network runs


@dataclass
class SolveResult:
    """The filled-in ``auto`` values, the solutions for the unknowns, and the report."""

    report: Report  # of the first solution, or of the network as written
    auto: dict[tuple[str, str], Dim]
    unknowns: list[tuple[str, str]]
    solutions: list[Solution] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok and (not self.unknowns or bool(self.solutions))


def unknowns(net: Network) -> list[tuple[str, str]]:
    out = []
    for layer in net.layers:
        spec = REGISTRY[layer.op]
        bound = bind(spec, layer.args, layer.kwargs)
        out += [(layer.name, k) for k, v in bound.items() if v is SOLVE]
    return out


def _acceptable(rep: Report) -> bool:
    return rep.ok and not _restricted(rep)


def _restricted(rep: Report) -> bool:
    return any(d.code == "expect" and d.severity == "note" for d in rep.diagnostics)


def _gaps(rep: Report) -> dict[tuple[str, int], Any]:
    """For every `expect`: output dim minus expected dim, per (layer, dim)."""
    out: dict[tuple[str, int], Any] = {}
    for layer in rep.network.layers:
        shape = rep.shapes.get(layer.name)
        if layer.expect is None or shape is None or len(shape) != len(layer.expect):
            continue
        for i, (got, want) in enumerate(zip(shape, layer.expect)):
            if want is not None:
                out[(layer.name, i)] = norm(got - want)
    return out


def explain(net: Network, unk: list[tuple[str, str]], base: Mapping[tuple[str, str], int]) -> list[str]:
    """Why no value works, where the arithmetic says it: an `expect` whose gap changes
    linearly with one unknown and does not depend on the input size gives the value the
    unknown would need (``conv3.padding would have to be 3/2``)."""
    reasons: list[str] = []
    try:
        rep0 = run_check(net, dict(base))
    except ArgError:
        return reasons
    gaps0 = _gaps(rep0)
    for key in unk:
        try:
            rep1 = run_check(net, {**base, key: base[key] + 1})
        except ArgError:
            continue
        gaps1 = _gaps(rep1)
        for (lname, dim), g0 in gaps0.items():
            g1 = gaps1.get((lname, dim))
            if g1 is None or g0 == 0 or not isinstance(g0, int) or not isinstance(g1, int) or g1 == g0:
                continue
            need = Fraction(base[key]) - Fraction(g0, g1 - g0)
            value = str(need.numerator) if need.denominator == 1 else f"{need} = {float(need):g}"
            exp = net.by_name[lname].expect
            want = fmt(exp[dim]) if exp is not None else "?"
            why = "is not an integer" if need.denominator != 1 else "is outside the range tried"
            reasons.append(f"{key[0]}.{key[1]} would have to be {value} for {lname}'s output dim {dim} to be "
                           f"{want} (which {why})")
    return list(dict.fromkeys(reasons))


def solve(net: Network, limit: int = 20, ranges: Mapping[str, tuple[int, int]] | None = None) -> SolveResult:
    """Solve ``net``: at most ``limit`` solutions, smallest first."""
    unk = unknowns(net)
    rng = {**_RANGES, **(ranges or {})}
    sols: list[Solution] = []
    diags: list[Diagnostic] = []
    first_failure: Report | None = None
    partial: list[Solution] = []
    if unk:
        grids = [range(rng.get(p, DEFAULT_RANGE)[0], rng.get(p, DEFAULT_RANGE)[1] + 1) for _, p in unk]
        combos = sorted(itertools.product(*grids), key=lambda c: (sum(c), c))
        for n, combo in enumerate(combos):
            if n >= MAX_TRIES or len(sols) >= limit:
                break
            assign = dict(zip(unk, combo))
            try:
                rep = run_check(net, assign)
            except ArgError:
                continue
            if _acceptable(rep):
                sols.append(Solution(dict(assign), rep))
            elif rep.ok and len(partial) < limit:
                partial.append(Solution(dict(assign), rep, restricts=True))
            elif first_failure is None:
                first_failure = rep
        if not sols and partial:
            # no value makes every `expect` hold at every size: offer those that hold somewhere
            sols = partial
            diags.append(Diagnostic(
                "warning", "partial-solution",
                "no value makes every `expect` hold at every valid input size; these hold at some sizes "
                f"(for the first: {partial[0].report.domain})",
                layer=unk[0][0], location=param_location(net.by_name[unk[0][0]], REGISTRY[net.by_name[unk[0][0]].op],
                                                         unk[0][1]),
                hint="the valid inputs below are restricted to the sizes where the `expect`s hold"))
        if not sols:
            names = ", ".join(f"{layer}.{p}" for layer, p in unk)
            spans = ", ".join(f"{p} in [{rng.get(p, DEFAULT_RANGE)[0]}, {rng.get(p, DEFAULT_RANGE)[1]}]"
                              for _, p in unk)
            why = ""
            lows = {k: rng.get(k[1], DEFAULT_RANGE)[0] for k in unk}
            reasons = explain(net, unk, lows)
            if reasons:
                why = ": " + "; ".join(reasons)
            elif first_failure is not None:
                errs = first_failure.errors or [d for d in first_failure.diagnostics if d.code == "expect"]
                if errs:
                    why = f"; e.g. with the smallest value: {errs[0].message}"
            layer = net.by_name[unk[0][0]]
            diags.append(Diagnostic("error", "no-solution", f"no value of {names} ({spans}) makes the network valid{why}",
                                    layer=unk[0][0], location=param_location(layer, REGISTRY[layer.op], unk[0][1]),
                                    hint="check the `expect` shapes, or widen the unknown's range"))
    if sols:
        report = sols[0].report
    else:
        report = first_failure or run_check(net)
    auto = {(name, p): v for name, r in report.propagation.results.items() for p, v in r.auto.items()}
    return SolveResult(report, auto, unk, sols, diags)


def filled_yaml(text: str, result: SolveResult) -> tuple[str, list[str]]:
    """The YAML text with ``auto``/``solve`` replaced by their values (first solution).

    Values are written where the key is in the file and the value is concrete and the same
    for every layer that shares the line (a block used several times); others are left as
    they are, with a message.
    """
    net = result.report.network
    wanted: dict[tuple[int, int], set[str]] = {}
    skipped: list[str] = []
    values: dict[tuple[str, str], Any] = dict(result.auto)
    if result.solutions:
        values.update(result.solutions[0].values)
    for (lname, p), v in values.items():
        layer = net.by_name.get(lname)
        if layer is None or p not in layer.kwargs:
            skipped.append(f"{lname}.{p}: not written as a keyword in the file")
            continue
        loc = layer.locs.get(p)
        if not isinstance(v, int):
            skipped.append(f"{lname}.{p} = {fmt(v)} depends on the input size; left as auto")
            continue
        if loc is None or loc.line is None or loc.col is None:
            continue
        wanted.setdefault((loc.line, loc.col), set()).add(str(v))
    lines = text.splitlines(keepends=True)
    for (line, col), vals in sorted(wanted.items(), reverse=True):
        if len(vals) != 1:
            skipped.append(f"line {line}: the layers that share it need different values {sorted(vals)}")
            continue
        (val,) = vals
        src = lines[line - 1]
        head, tail = src[: col - 1], src[col - 1:]
        new_tail, n = re.subn(r"^([A-Za-z_][A-Za-z_0-9]*\s*:\s*)(auto|solve)\b", rf"\g<1>{val}", tail, count=1)
        if n:
            lines[line - 1] = head + new_tail
    return "".join(lines), skipped
