"""``export_specs``: torch.export dynamic shapes from the domain, each one proven by torch itself.

For every case of the network (its main path first), the sizes a spec may hold are the case's
domain where no intermediate size is 0 or 1 (torch.export specialises those: a feature map
that is 1x1 at H=32 makes the exported program refuse H=32); an input size may be 1 where the
network behaves there as everywhere else (shapeplan's cases say where it does not).  That set
is cut into pieces that one Dim per symbol can name (:mod:`shapeplan.analysis.exportable`),
and each piece is exported: torch traces the model at an example inside it, on fake tensors
(no weight is used), and reports what its program assumes (range constraints, guards,
runtime asserts: :mod:`.torch_guards`).  A spec is returned when every assumption holds at every
size of the piece; where torch assumes more, the piece is narrowed to what torch proves and
exported again, and the sizes left out are said in ``excluded``.

torch is imported inside functions only.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..analysis.check import Report
from ..analysis.domain.boxes import Box, apply_condition
from ..analysis.domain.quasi import NotAnalysable
from ..analysis.exportable import (
    describe_boxes,
    first_small_dim,
    minus,
    pick_example,
    restrict,
    simplify_on,
    small_dim_conditions,
    split_pieces,
)
from ..core.conditions import Cond, cond_text
from ..core.dims import Shape, free_symbols
from ..core.errors import InputError
from ..core.ir import Network
from ..core.sets import TooComplex
from .export_spec import Excluded, ExportSpec, ExportSpecs, Layout
from .torch_guards import program_guards

MAX_RETRIES = 2  # larger examples tried when torch refuses a piece
_QUIET = ("torch._subclasses.fake_tensor", "torch.fx.experimental.symbolic_shapes", "torch._dynamo",
          "torch.export", "torch._export")


@dataclass
class _Target:
    """The module to export, its report, and where each forward argument's sizes come from."""

    module: Any
    report: Report
    layout: Layout
    device: Any
    max_specs: int = 8
    max_exports: int = 32
    exports: int = 0
    specs: list[ExportSpec] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)


def export_specs(model: Any, input_shape: Any = None, *, max_specs: int = 8, max_exports: int = 32) -> ExportSpecs:
    """The ``torch.export`` specs of ``model`` (an nn.Module with ``input_shape``, such as
    ``("N", 3, "H", "W")``; or a Network / Report, built with :func:`shapeplan.build`).

    Every spec is proven (exported by torch, every assumption of the program checked at every
    size of the spec); ``.excluded`` lists the valid sizes that no spec holds, and why.
    """
    target = _target(model, input_shape)
    target.max_specs, target.max_exports = max_specs, max_exports
    rep = target.report
    symbols = list(rep.domain.symbols)
    missing = [s for s in symbols if not any(s == d for dims in target.layout.values() for d in dims)]
    if missing:
        raise InputError(f"the valid sizes depend on {', '.join(missing)}, which no input dim is", code="export",
                         hint="give these sizes as input dims, or pin them")
    cases = [c for c in ([rep.main] if rep.main is not None else []) + list(rep.cases)
             if c is not None and c.propagation is not None and not c.domain.empty]
    for n, case in enumerate(cases):
        where = None if n == 0 else case.condition(_base(rep))
        _case_specs(target, case, symbols, where)
    return ExportSpecs(target.specs, target.excluded, symbols=symbols, report=rep)


def _base(rep: Report) -> Any:
    from ..analysis.cases import base_region

    return base_region(rep.network)


def _target(model: Any, input_shape: Any) -> _Target:
    from ..analysis.check import run_check
    from ..frontends.torch.importer import from_torch
    from .emit import build, solved_report

    if isinstance(model, (Network, Report)):
        rep = solved_report(model)
        module = build(rep)
    else:
        if input_shape is None:
            raise InputError("export_specs needs the input shape of an nn.Module, e.g. ('N', 3, 'H', 'W')",
                             code="bad-usage")
        module = model
        rep = run_check(from_torch(model, input_shape))
    _refuse_lazy(module)
    odd = [d for shape in rep.network.inputs.values() for d in shape
           if not isinstance(d, int) and not getattr(d, "is_Symbol", False)]
    if odd:
        raise InputError(f"an input dim is a formula ({odd[0]}); export_specs takes ints and symbol names",
                         code="bad-input", hint="name that size with a symbol of its own")
    names = [p for p in inspect.signature(module.forward).parameters][: len(rep.network.inputs)]
    layout = {arg: tuple(d if isinstance(d, int) else str(d) for d in shape)
              for arg, shape in zip(names, rep.network.inputs.values())}
    param = next(iter(module.parameters()), None)
    return _Target(module, rep, layout, param.device if param is not None else "cpu")


def _refuse_lazy(module: Any) -> None:
    """torch.export needs every parameter's size: an uninitialised Lazy module has none yet."""
    from torch.nn.modules.lazy import LazyModuleMixin

    lazy = [name for name, m in module.named_modules()
            if isinstance(m, LazyModuleMixin) and m.has_uninitialized_params()]  # type: ignore[misc]
    if lazy:
        raise InputError(f"{lazy[0] or type(module).__name__} is an uninitialised Lazy module: its parameters' sizes "
                         "are set by its first forward, and torch.export needs them", code="export",
                         hint="run one forward at the size you will use first (or pin the input sizes that the "
                              "constructor depends on)")


def _case_specs(t: _Target, case: Any, symbols: list[str], where: str | None) -> None:
    """The specs of one case: its domain without the sizes where an intermediate size is below 2."""
    dom = case.domain
    prop = case.propagation
    layers = [(k, r.shape) for k, r in prop.results.items()]
    shapes: list[Shape | None] = [*prop.network.inputs.values(), *(s for _, s in layers)]
    outputs = tuple(prop.shape(o) for o in prop.network.outputs)
    if dom.residual or dom.pieces:
        t.excluded.append(Excluded(dom.describe(), "the sizes are tied by a relation that one range per size cannot "
                                   "name", tuple(dom.boxes)))
        return
    kept, _ = restrict(dom.boxes, small_dim_conditions(shapes, bare=False))
    lost = minus(dom.boxes, kept)
    if lost:
        t.excluded.append(Excluded(describe_boxes(lost, symbols), _small_reason(lost, symbols, layers), tuple(lost)))
    work = _Work(t, symbols, small_dim_conditions(shapes, bare=True), outputs, where)
    work.run([p.box() for p in split_pieces(kept, symbols)])


def _small_reason(lost: Sequence[Box], symbols: list[str], layers: list[tuple[str, Shape | None]]) -> str:
    sample = pick_example(lost, symbols) or {s: lost[0][s].min() or 1 for s in symbols}
    at = ", ".join(f"{k}={v}" for k, v in sample.items())
    which = first_small_dim(layers, sample)
    return ("an intermediate size is 0 or 1 there" + (f" (at {at}, {which})" if which else "")
            + "; torch.export specialises sizes 0 and 1, so a program exported with these sizes dynamic refuses them "
              "(export them with static sizes instead)")


@dataclass
class _Todo:
    """A piece still to export: how many larger examples were tried, and why it was split off."""

    box: Box
    retry: int = 0
    why: str = ""


@dataclass
class _Work:
    """The pieces of one case still to export: each export either proves its piece, or tells
    where its program holds (that part is tried again first) and where it does not (those
    sizes need a trace of their own, tried later)."""

    t: _Target
    symbols: list[str]
    strict: list[Cond]  # every symbolic size >= 2: where the example of an export must be
    outputs: tuple[Shape | None, ...]
    where: str | None

    def run(self, boxes: list[Box]) -> None:
        queue: deque[_Todo] = deque(_Todo(b) for b in boxes)
        while queue:
            todo = queue.popleft()
            (piece,) = split_pieces([todo.box], self.symbols)
            if len(self.t.specs) >= self.t.max_specs or self.t.exports >= self.t.max_exports:
                self.exclude([todo.box], (f"{todo.why}; " if todo.why else "") + "not tried: more pieces than "
                             f"max_specs={self.t.max_specs} (or max_exports={self.t.max_exports})")
                continue
            inside, _ = restrict([todo.box], self.strict)
            example = pick_example(inside, self.symbols, self.strict, skip=2 * todo.retry)
            if example is None:
                self.exclude([todo.box], "an intermediate size is 1 at every such size; torch.export specialises it")
                continue
            self.step(ExportSpec(piece, self.t.layout, example, self.outputs, self.where), todo, queue)

    def step(self, spec: ExportSpec, todo: _Todo, queue: deque[_Todo]) -> None:
        """Export one spec; prove it, or narrow it to what torch proves.  When torch refuses a
        spec whose every assumption shapeplan proves (torch's own prover is weaker: a guard that
        holds at every size but that it cannot show for a plain range), the spec is exported
        with ``prefer_deferred_runtime_asserts_over_guards=True`` and proven the same way."""
        box = todo.box
        ep, error = _export(self.t, spec, deferred=False)
        if ep is None:
            spec.deferred = True
            ep, _ = _export(self.t, spec, deferred=True)  # the same trace, its assumptions as runtime asserts
        if ep is None:
            if todo.retry < MAX_RETRIES:  # small sizes are often special to torch: trace at larger ones
                queue.appendleft(_Todo(box, todo.retry + 1, todo.why))
            else:
                self.exclude([box], f"torch.export refuses it: {error}")
            return
        guards = program_guards(ep, _layout_inputs(self.t), spec.roots())
        if guards.unknown:
            self.exclude([box], "torch's program assumes " + "; ".join(guards.unknown[:2])
                         + ", which shapeplan cannot check")
            return
        conds = [_simplified(box, c) for c, _ in guards.conditions]
        failing = [c for c in conds if _fails_somewhere(box, c)]
        if not failing:
            spec.proven = True
            spec.program = ep
            spec.torch_ranges = {str(k): str(v) for k, v in ep.range_constraints.items()}
            self.t.specs.append(spec)
            return
        narrowed, left = restrict([box], failing)
        if left:
            self.exclude([box], "torch's program assumes " + "; ".join(cond_text(c) for c in left[:2])
                         + ", which shapeplan cannot split exactly")
            return
        at = ", ".join(f"{k}={v}" for k, v in spec.example_sizes.items())
        why = (f"the program torch traces at {at} assumes " + "; ".join(dict.fromkeys(cond_text(c) for c in failing))
               )[:400]
        for sub in reversed(split_pieces(narrowed, self.symbols)):
            queue.appendleft(_Todo(sub.box()))  # where this trace holds: proven next
        for sub in split_pieces(minus([box], narrowed), self.symbols):
            queue.append(_Todo(sub.box(), 0, why))  # other sizes: another trace, later

    def exclude(self, boxes: list[Box], reason: str) -> None:
        self.t.excluded.append(Excluded(describe_boxes(boxes, self.symbols), reason, tuple(boxes)))


def _layout_inputs(t: _Target) -> dict[str, tuple[Any, ...]]:
    """Forward's argument names -> their dims (the names torch's sources use)."""
    from ..core.dims import sym

    return {name: tuple(d if isinstance(d, int) else sym(d) for d in dims) for name, dims in t.layout.items()}


def _simplified(box: Box, c: Cond) -> Cond:
    """``c`` with the max/min that have one winner on ``box`` resolved."""
    return Cond(c.kind, simplify_on(box, c.lhs), simplify_on(box, c.rhs))


def _fails_somewhere(box: Box, c: Cond) -> bool:
    """Is there a size in ``box`` where ``c`` does not hold?  (Unknown counts as yes.)"""
    if not free_symbols(c.lhs) | free_symbols(c.rhs):
        return not c.concrete()
    try:
        return bool(minus([box], apply_condition([box], c)))
    except (NotAnalysable, TooComplex):
        return True


def _export(t: _Target, spec: ExportSpec, deferred: bool) -> tuple[Any, str | None]:
    """``torch.export.export`` of the module with the spec (at its example, on the module's
    device): the program, or None and torch's message (its first line)."""
    import torch

    args = spec.example_args(t.device)
    t.exports += 1
    try:
        with _quiet(), torch.no_grad():
            extra: dict[str, Any] = {"prefer_deferred_runtime_asserts_over_guards": True} if deferred else {}
            ep = torch.export.export(t.module, args, dynamic_shapes=spec.dynamic_shapes, **extra)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds; its message is the answer
        return None, _first_line(e)
    return ep, None


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    text = " ".join(lines[:3]) if lines else type(e).__name__
    return text[:400]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch logs the errors of a failed trace (which are answers here, not news)."""
    loggers = [logging.getLogger(n) for n in _QUIET]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def covers(specs: ExportSpecs, sizes: Mapping[str, int]) -> bool:
    """Is ``sizes`` held by a spec or listed in ``excluded``?"""
    return specs.covering(**sizes) is not None or specs.why_excluded(**sizes) is not None
