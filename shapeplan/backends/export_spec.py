"""One ``torch.export`` spec, and the list of them: what ``export_specs`` returns.

A spec is a :class:`~shapeplan.analysis.exportable.Piece` (one range, or ``P*k + r``, per input
symbol) written for the tools that need it: ``dynamic_shapes`` for ``torch.export.export``
(one Dim per symbol, shared by every axis that has it), the Python to paste, ONNX
``dynamic_axes`` and TensorRT optimisation profiles.  torch is imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..analysis.domain.boxes import Box
from ..analysis.exportable import Axis, Piece
from ..core.dims import Shape, fmt, free_symbols

Layout = Mapping[str, tuple[int | str, ...]]  # forward's argument -> its dims (an int, or a symbol's name)


@dataclass(frozen=True)
class Excluded:
    """Valid sizes that no spec holds, and why (in words); ``boxes``: those sizes, exactly."""

    sizes: str
    reason: str
    boxes: tuple[Box, ...] = field(default=(), compare=False, repr=False)

    def contains(self, /, **sizes: int) -> bool:
        return any(all(v in box[k] for k, v in sizes.items() if k in box) for box in self.boxes)

    def __str__(self) -> str:
        return f"{self.sizes}: {self.reason}"


@dataclass
class ExportSpec:
    """Sizes that one ``torch.export`` call takes: ``dynamic_shapes``, an ``example`` inside,
    ``contains``, the ``source`` to paste.  ``proven``: torch exported it and every assumption
    of the program holds at every size of the spec."""

    piece: Piece
    layout: Layout
    example_sizes: dict[str, int]
    outputs: tuple[Shape | None, ...] = ()
    case: str | None = None  # the sizes of forward's path, when it is not the main one
    proven: bool = False
    deferred: bool = False  # exported with prefer_deferred_runtime_asserts_over_guards=True
    torch_ranges: dict[str, str] = field(default_factory=dict)
    program: Any = field(default=None, repr=False, compare=False)  # the ExportedProgram that proved it

    # -- the sizes
    def contains(self, /, **sizes: int) -> bool:
        """Are these sizes in the spec?  (A symbol left out is not constrained.)"""
        return self.piece.contains(**sizes)

    @property
    def ranges(self) -> dict[str, dict[str, int | None]]:
        """Every symbol's sizes as data: min, max (None: unbounded), period and residue."""
        return {s: a.to_json() for s, a in self.piece.axes}

    def describe(self) -> str:
        return self.piece.describe()

    def __str__(self) -> str:
        return self.describe()

    def shape(self, name: str, sizes: Mapping[str, int]) -> tuple[int, ...]:
        return tuple(d if isinstance(d, int) else sizes[d] for d in self.layout[name])

    @property
    def example(self) -> tuple[int, ...]:
        """An input shape inside the spec (of forward's first tensor argument)."""
        return self.shape(next(iter(self.layout)), self.example_sizes)

    def example_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every input's shape at the example sizes."""
        return {name: self.shape(name, self.example_sizes) for name in self.layout}

    def example_args(self, device: Any = "cpu", sizes: Mapping[str, int] | None = None) -> tuple[Any, ...]:
        """Tensors of the example's shapes (or of ``sizes``'s), forward's arguments in order."""
        import torch

        env = dict(sizes or self.example_sizes)
        return tuple(torch.zeros(self.shape(name, env), device=device) for name in self.layout)

    # -- torch.export
    def dims(self) -> dict[str, Any]:
        """One torch Dim (or derived dim) per dynamic symbol; static symbols are absent."""
        from torch.export import Dim

        out: dict[str, Any] = {}
        for s, a in self.piece.axes:
            if a.static:
                continue
            if a.period == 1:
                out[s] = Dim(s, min=a.lo, max=a.hi) if a.hi is not None else Dim(s, min=a.lo)
                continue
            root = Dim(f"_{s}", min=a.kmin, max=a.kmax) if a.kmax is not None else Dim(f"_{s}", min=a.kmin)
            out[s] = a.period * root + a.residue if a.residue else a.period * root
        return out

    @property
    def dynamic_shapes(self) -> dict[str, Any]:
        """What ``torch.export.export(..., dynamic_shapes=...)`` takes, keyed as forward's arguments."""
        dims = self.dims()
        out: dict[str, Any] = {}
        for name, layout in self.layout.items():
            axes = {i: dims[d] for i, d in enumerate(layout) if isinstance(d, str) and d in dims}
            out[name] = axes or None
        return out

    def roots(self) -> dict[str, Any]:
        """The root of every derived dim, as a size of the input: ``_H`` is ``(H - r)//P``."""
        from ..core.dims import floordiv, sym

        return {f"_{s}": floordiv(sym(s) - a.residue, a.period) for s, a in self.piece.axes
                if not a.static and a.period > 1}

    def source(self, model: str = "model", suffix: str = "") -> str:
        """The Python that exports ``model`` with this spec (imports included)."""
        lines = ["import torch", "from torch.export import Dim, export", ""]
        return "\n".join(lines + self.source_block(model, suffix)) + "\n"

    def source_block(self, model: str = "model", suffix: str = "") -> list[str]:
        lines = [f"# {self.describe()}" + (f" (forward's path where {self.case})" if self.case else "")]
        names: dict[str, str] = {}
        for s, a in self.piece.axes:
            if a.static:
                continue
            v = f"{s}{suffix}"
            if a.period == 1:
                lines.append(f"{v} = Dim({s!r}{_bounds(a.lo, a.hi)})")
                names[s] = v
            else:
                root = f"_{s}{suffix}"
                lines.append(f"{root} = Dim({'_' + s!r}{_bounds(a.kmin, a.kmax)})  # {a.describe(s)}")
                names[s] = f"{a.period} * {root}" + (f" + {a.residue}" if a.residue else "")
        entries = []
        for name, layout in self.layout.items():
            axes = ", ".join(f"{i}: {names[d]}" for i, d in enumerate(layout) if isinstance(d, str) and d in names)
            entries.append(f"{name!r}: {{{axes}}}" if axes else f"{name!r}: None")
        lines.append(f"dynamic_shapes{suffix} = {{{', '.join(entries)}}}")
        args = ", ".join(f"torch.randn{self.shape(n, self.example_sizes)}" for n in self.layout)
        lines.append(f"example{suffix} = ({args},)")
        extra = ", prefer_deferred_runtime_asserts_over_guards=True" if self.deferred else ""
        if self.deferred:
            lines.append("# torch cannot show its guards for these ranges (shapeplan shows they hold at every size):")
            lines.append("# they become runtime asserts")
        lines.append(f"ep{suffix} = export({model}, example{suffix}, dynamic_shapes=dynamic_shapes{suffix}{extra})")
        return lines

    @property
    def export_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``torch.export.export`` besides the example: ``dynamic_shapes``,
        and ``prefer_deferred_runtime_asserts_over_guards=True`` where the proof needed it."""
        out: dict[str, Any] = {"dynamic_shapes": self.dynamic_shapes}
        if self.deferred:
            out["prefer_deferred_runtime_asserts_over_guards"] = True
        return out

    # -- other deployment tools
    def onnx_dynamic_axes(self, output_names: Sequence[str] | None = None) -> dict[str, dict[int, str]]:
        """``torch.onnx.export(..., dynamic_axes=...)``: a name per dynamic axis (a symbol's name,
        the same on every axis that has it; an output's axis is named by its formula)."""
        out: dict[str, dict[int, str]] = {}
        for name, layout in self.layout.items():
            axes = {i: d for i, d in enumerate(layout) if isinstance(d, str) and not self.piece.axis(d).static}
            if axes:
                out[name] = axes
        names = list(output_names) if output_names is not None else (
            ["output"] if len(self.outputs) == 1 else [f"output{i}" for i in range(len(self.outputs))])
        for oname, shape in zip(names, self.outputs):
            axes = {i: self._axis_name(d) for i, d in enumerate(shape or ()) if not isinstance(d, int)
                    and free_symbols(d) and not free_symbols(d) <= {s for s, a in self.piece.axes if a.static}}
            if axes:
                out[oname] = axes
        return out

    def _axis_name(self, d: Any) -> str:
        """A symbol's name where the size is that symbol on the whole spec, else its formula."""
        from ..analysis.exportable import same_on
        from ..core.dims import sym

        box = self.piece.box()
        return next((s for s in sorted(free_symbols(d)) if same_on(box, d, sym(s))), fmt(d))

    def tensorrt_profile(self, opt: Mapping[str, int] | None = None, max: Mapping[str, int] | None = None,
                         cap: int = 1024) -> dict[str, dict[str, tuple[int, ...]]]:
        """A TensorRT optimisation profile: min / opt / max shapes per input, all valid sizes of the
        spec.  ``opt`` defaults to the example; an unbounded symbol's max is its largest size
        <= ``cap`` (or <= ``max[symbol]``)."""
        lo = {s: a.lo for s, a in self.piece.axes}
        hi = {s: _top(a, (max or {}).get(s, cap)) for s, a in self.piece.axes}
        mid = {s: _near(a, (opt or self.example_sizes).get(s, self.example_sizes[s])) for s, a in self.piece.axes}
        return {name: {"min": self.shape(name, lo), "opt": self.shape(name, mid), "max": self.shape(name, hi)}
                for name in self.layout}

    def to_json(self) -> dict[str, Any]:
        return {"sizes": self.describe(), "ranges": self.ranges, "example": self.example_shapes(),
                "case": self.case, "proven": self.proven, "deferred": self.deferred, "torch_ranges": self.torch_ranges,
                "onnx_dynamic_axes": self.onnx_dynamic_axes(), "tensorrt_profile": self.tensorrt_profile()}


def _bounds(lo: int, hi: int | None) -> str:
    return f", min={lo}" + (f", max={hi}" if hi is not None else "")


def _top(a: Axis, cap: int) -> int:
    if a.hi is not None and a.hi <= cap:
        return a.hi
    return a.at_or_before(cap) or a.lo


def _near(a: Axis, v: int) -> int:
    return a.at_or_after(v) or a.at_or_before(v) or a.lo


class ExportSpecs(list[ExportSpec]):
    """The specs of a model (one per piece of its exportable sizes); ``excluded`` says which valid
    sizes no spec holds and why."""

    def __init__(self, specs: Sequence[ExportSpec] = (), excluded: Sequence[Excluded] = (), *,
                 symbols: Sequence[str] = (), report: Any = None) -> None:
        super().__init__(specs)
        self.excluded: list[Excluded] = list(excluded)
        self.symbols = tuple(symbols)
        self.report = report

    def covering(self, /, **sizes: int) -> ExportSpec | None:
        """The spec that holds these sizes, or None."""
        return next((s for s in self if s.contains(**sizes)), None)

    def why_excluded(self, /, **sizes: int) -> Excluded | None:
        """The entry of ``excluded`` these sizes fall in, or None."""
        return next((e for e in self.excluded if e.contains(**sizes)), None)

    @property
    def source(self) -> str:
        """The Python that exports the model with every spec (``ep``, ``ep_2``, ...)."""
        lines = ["import torch", "from torch.export import Dim, export", ""]
        for i, spec in enumerate(self):
            lines += spec.source_block("model", "" if i == 0 else f"_{i + 1}") + [""]
        if not self:
            lines.append("# no size of this model can be exported with dynamic sizes")
        for e in self.excluded:
            lines.append(f"# not covered: {e}")
        return "\n".join(lines).rstrip() + "\n"

    def describe(self) -> str:
        parts = [f"spec {i + 1}: {s}" for i, s in enumerate(self)]
        parts += [f"excluded: {e}" for e in self.excluded]
        return "\n".join(parts) if parts else "no spec"

    def __str__(self) -> str:
        return self.describe()

    def to_json(self) -> dict[str, Any]:
        return {"specs": [s.to_json() for s in self], "excluded": [{"sizes": e.sizes, "reason": e.reason}
                                                                   for e in self.excluded]}
