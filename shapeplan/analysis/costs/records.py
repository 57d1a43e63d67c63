"""The records of a network's costs: one :class:`LayerCost` per layer, and :class:`Costs`, their
totals and their evaluation at given sizes (conventions: :mod:`.tables`, :mod:`.memory`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import sympy

from ...core.dims import Dim, fmt, norm, sym
from ..receptive.axis import Window
from .memory import peak
from .tables import CONVENTION, DTYPES

Value = Any  # a Dim, a sympy Rational, or None


@dataclass(frozen=True)
class LayerCost:
    """One layer's costs (None where the layer has no shape: it failed, or one upstream did)."""

    name: str
    op: str
    params: Dim | None
    trainable: Dim | None
    buffers: Dim | None
    macs: Dim | None
    elements: Dim | None
    bytes: Dim | None
    receptive_field: Mapping[str, Window] | None
    allocates: bool | None = None  # False: the output is the input's memory (in place, a view)

    @property
    def flops(self) -> Dim | None:
        return None if self.macs is None else norm(2 * self.macs)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: _text(getattr(self, k)) for k in
                               ("params", "trainable", "buffers", "macs", "flops", "elements", "bytes")}
        out["receptive_field"] = _rf_json(self.receptive_field, _text)
        out["allocates"] = self.allocates
        return out

    def values_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: _number(getattr(self, k)) for k in
                               ("params", "trainable", "buffers", "macs", "flops", "elements", "bytes")}
        out["receptive_field"] = _rf_json(self.receptive_field, _number)
        out["allocates"] = self.allocates
        return out


@dataclass(frozen=True)
class Costs:
    """Per-layer costs and totals, as formulas (or values, after :meth:`at`)."""

    dtype: str
    layers: tuple[LayerCost, ...]
    inputs: Mapping[str, Dim]  # elements of each network input
    steps: tuple[tuple[str, Dim], ...]  # (layer, live bytes while it runs), in execution order
    symbols: tuple[str, ...]
    sizes: Mapping[str, int] = field(default_factory=dict)  # the sizes substituted by at()
    lows: Mapping[str, int] = field(default_factory=dict)  # the least valid value of each symbol

    @property
    def itemsize(self) -> int:
        return DTYPES[self.dtype]

    @property
    def complete(self) -> bool:
        """True when every layer has a shape (else the totals count the layers that have one)."""
        return all(lc.elements is not None for lc in self.layers)

    def __getitem__(self, name: str) -> LayerCost:
        for lc in self.layers:
            if lc.name == name:
                return lc
        raise KeyError(name)

    def _sum(self, key: str) -> Dim:
        return norm(sum((getattr(lc, key) for lc in self.layers if getattr(lc, key) is not None), 0))

    @cached_property
    def total_params(self) -> Dim:
        return self._sum("params")

    @cached_property
    def total_trainable(self) -> Dim:
        return self._sum("trainable")

    @cached_property
    def total_buffers(self) -> Dim:
        return self._sum("buffers")

    @cached_property
    def total_macs(self) -> Dim:
        return self._sum("macs")

    @property
    def total_flops(self) -> Dim:
        return norm(2 * self.total_macs)

    @cached_property
    def input_bytes(self) -> Dim:
        return norm(sum(self.inputs.values(), 0) * self.itemsize)

    @cached_property
    def output_bytes(self) -> Dim:
        """The sum of every layer's output bytes (no reuse of memory: an upper bound of a forward)."""
        return self._sum("bytes")

    @cached_property
    def peak_bytes(self) -> Dim | None:
        """The peak live activation memory (a max over the steps); None if a layer failed."""
        if not self.complete:
            return None
        return peak([b for _, b in self.steps] or [self.input_bytes], self.lows)

    def at(self, /, **sizes: int) -> Costs:  # positional-only self: a symbol may be named self
        """Every formula evaluated at these sizes (symbols left out stay symbolic)."""
        unknown = [k for k in sizes if k not in self.symbols]
        if unknown:
            raise ValueError(f"unknown size {', '.join(unknown)}; the symbols are {', '.join(self.symbols) or 'none'}")
        env = {sym(k): sympy.Integer(v) for k, v in sizes.items()}

        def s(v: Value) -> Value:
            return subst(v, env)

        layers = tuple(replace(
            lc, params=s(lc.params), trainable=s(lc.trainable), buffers=s(lc.buffers), macs=s(lc.macs),
            elements=s(lc.elements), bytes=s(lc.bytes),
            receptive_field=None if lc.receptive_field is None else {
                k: Window(s(w.rf), s(w.jump), s(w.start)) for k, w in lc.receptive_field.items()},
        ) for lc in self.layers)
        return Costs(self.dtype, layers, {k: s(v) for k, v in self.inputs.items()},
                     tuple((n, s(b)) for n, b in self.steps), self.symbols, {**self.sizes, **sizes}, self.lows)

    def totals(self) -> dict[str, Dim | None]:
        return {
            "params": self.total_params, "trainable": self.total_trainable, "buffers": self.total_buffers,
            "macs": self.total_macs, "flops": self.total_flops, "input_bytes": self.input_bytes,
            "output_bytes": self.output_bytes, "peak_bytes": self.peak_bytes,
        }

    def to_json(self) -> dict[str, Any]:
        conv = _number if self.sizes else _text
        return {
            "dtype": self.dtype,
            "itemsize": self.itemsize,
            "sizes": dict(self.sizes),
            "complete": self.complete,
            "convention": CONVENTION,
            "totals": {k: conv(v) for k, v in self.totals().items()},
            "layers": {lc.name: (lc.values_json() if self.sizes else lc.to_json()) for lc in self.layers},
        }


# --------------------------------------------------------------------------- values as formulas, numbers, JSON


def subst(v: Value, env: Mapping[sympy.Symbol, sympy.Integer]) -> Value:
    if v is None or isinstance(v, int) or not env:
        return v
    return norm(v.xreplace(env))


def _text(v: Value) -> str | None:
    return None if v is None else fmt(v)


def _number(v: Value) -> int | str | None:
    """A JSON value: an int when the value is one, else its text (a fraction, a formula)."""
    if v is None:
        return None
    v = norm(v)
    return v if isinstance(v, int) else fmt(v)


def _rf_json(rf: Mapping[str, Window] | None, conv: Callable[[Value], Any]) -> dict[str, Any] | None:
    if rf is None:
        return None
    return {k: {"rf": conv(w.rf), "jump": conv(w.jump), "start": conv(w.start)} for k, w in rf.items()}
