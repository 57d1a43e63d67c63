"""Costs of a network, as exact formulas in the input's symbols: parameters, MACs and FLOPs,
activation memory, and receptive fields (:mod:`shapeplan.analysis.receptive`).

    costs = shapeplan.check("net.yaml").costs(dtype="float32")
    costs["conv1"].macs, costs.total_macs, costs.peak_bytes
    costs.at(H=224, W=224).total_flops          # every formula evaluated at a size

Conventions:

- ``params``: the elements of the layer's ``nn.Parameter``s, as
  ``sum(p.numel() for p in module.parameters())`` counts them; ``trainable``: those with
  ``requires_grad=True`` (every parameter a torch module creates; a ``Parameter`` layer may
  say ``requires_grad: false``); ``buffers``: the non-trainable state (``module.buffers()``):
  BatchNorm's and InstanceNorm's running mean and variance and ``num_batches_tracked``
  (2*C + 1 with ``track_running_stats``), and ``Buffer`` layers.
- ``macs``: multiply-accumulates of the layers with weights, one per use of a weight, bias
  excluded.  Conv: ``N * C_out * (C_in/groups) * prod(kernel) * prod(output spatial size)``;
  ConvTranspose: the same per *input* position, ``N * C_in * (C_out/groups) * prod(kernel) *
  prod(input spatial size)``; Linear: ``rows * in_features * out_features`` (rows: the product
  of the leading dims); Bilinear: ``rows * in1 * in2 * out``; matmul / mm / bmm / mv / dot, the
  add*mm family and F.linear: ``output elements * inner size``; F.conv*d and F.conv_transpose*d:
  the module's, from the weight's shape; scaled_dot_product_attention:
  ``batch * L * S * (E + Ev)``; MultiheadAttention: its four projections and its two
  attention products.  Every other op counts 0 MACs: activations, norms,
  pooling, resizing, padding, elementwise arithmetic, reductions, embeddings (a lookup),
  reshapes, indexing.
- ``flops = 2 * macs``: the convention of ``torch.utils.flop_counter.FlopCounterMode`` (a
  multiply and an add per MAC, bias ignored).  FlopCounterMode agrees on Conv, ConvTranspose,
  Linear, mm, bmm, batched matmul, addmm, baddbmm, scaled_dot_product_attention and
  MultiheadAttention; it counts 0 for a matrix-vector or vector-vector matmul, for addbmm and
  for Bilinear, which shapeplan counts as above.
- memory: ``elements`` is the number of elements of the layer's output, ``bytes`` that times
  the dtype's size (float32: 4, float16 and bfloat16: 2, float64: 8; every tensor is counted
  at that dtype).  ``peak_bytes`` is the most memory the activations hold at once in an
  inference forward (no autograd), layers run in the graph's topological order: the inputs
  (held by the caller) and the network's outputs live to the end; any other tensor is freed
  after its last consumer; during a layer its inputs and its output are live.  Ops that
  return their input or a view of it allocate nothing: ``inplace=True``, Identity, dropout in
  eval mode, view / permute / transpose / squeeze / unsqueeze / unflatten / expand / narrow /
  indexing / detach, a cast to ``dtype`` itself (``.float()`` at float32, ``type_as``), and
  flatten / reshape / contiguous unless their input is not contiguous (a permute, a
  transpose, an expand, or an indexing or narrow of a dim after the first, without a copy
  since; then they copy).  Parameters and buffers (also ``Parameter`` / ``Buffer`` layers)
  are module state, not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import sympy

from ..core.bounds import surely_nonnegative
from ..core.dims import Dim, evaluate, fmt, free_symbols, norm, prod, sym
from .macs import MACS
from .receptive import Window, receptive_fields
from .receptive_more import ALL_RULES

if TYPE_CHECKING:
    from ..core.ir import Network
    from .domain import Domain
    from .propagate import LayerResult, Propagation


class Checked(Protocol):
    """What costs are computed from: a checked network (a :class:`~shapeplan.analysis.check.Report`,
    named structurally so that the Report may offer ``costs()`` without an import cycle)."""

    network: Network
    domain: Domain
    propagation: Propagation

    @property
    def layers(self) -> Sequence[Any]: ...

DTYPES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}

CONVENTION = (
    "MACs count the multiply-accumulates of Conv, ConvTranspose, Linear, Bilinear, matmul/mm/bmm and F.linear, one per "
    "use of a weight, bias excluded; every other op counts 0. FLOPs = 2 x MACs, as "
    "torch.utils.flop_counter.FlopCounterMode counts them."
)

Value = Any  # a Dim, a sympy Rational, or None


# --------------------------------------------------------------------------- per-op rules


def _running_stats(a: Mapping[str, Any]) -> Dim:
    return norm(2 * a["num_features"] + 1) if a["track_running_stats"] else 0


BUFFERS: dict[str, Callable[[Mapping[str, Any]], Dim]] = {"Buffer": lambda a: prod(a["shape"])}
for _n in (1, 2, 3):
    BUFFERS[f"BatchNorm{_n}d"] = _running_stats
    BUFFERS[f"InstanceNorm{_n}d"] = _running_stats


def _trainable(op: str, a: Mapping[str, Any], params: Dim) -> Dim:
    """Parameters created with requires_grad=True: all of them, but a frozen ``Parameter``."""
    return 0 if op == "Parameter" and not a["requires_grad"] else params


# module state read as a tensor: not activation memory
_STATE = frozenset({"Parameter", "Buffer"})

# ops whose output is their input, or a view of it (no new memory)
_VIEWS = frozenset({"Identity", "permute", "transpose", "squeeze", "unsqueeze", "unflatten", "Unflatten", "view",
                    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
                    "detach", "expand", "expand_as", "getitem", "narrow", "type_as"})
_VIEW_IF_CONTIGUOUS = frozenset({"flatten", "Flatten", "reshape", "contiguous"})
_DROPOUT_FNS = frozenset({"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                          "feature_alpha_dropout"})
_CASTS = {"float": "float32", "half": "float16", "double": "float64"}


def _aliases(r: LayerResult, contiguous: bool, dtype: str) -> bool:
    """Does this layer return its (first) input's memory rather than new memory?"""
    op, a = r.layer.op, r.args
    if a.get("inplace") is True or op in _VIEWS:
        return True
    if op in _DROPOUT_FNS:
        return not a["training"] or a["p"] == 0
    if op in _VIEW_IF_CONTIGUOUS:  # (a reshape to the same shape is a view, whatever the strides)
        return contiguous or (op != "contiguous" and r.inputs[0] == r.shape)
    if op in _CASTS:  # every tensor is taken to be of ``dtype``: a cast to it is a no-op
        return _CASTS[op] == dtype
    return False


def _keeps_order(r: LayerResult) -> bool:
    """Is a view of a contiguous tensor contiguous?  (Else a later reshape copies.)"""
    op, a, x = r.layer.op, r.args, r.inputs[0]
    rank = max(len(x), 1)
    if op == "permute":
        return [d % rank for d in a["dims"]] == list(range(rank))
    if op == "transpose":
        return a["dim0"] % rank == a["dim1"] % rank
    if op in ("expand", "expand_as"):
        return r.shape == x
    if op == "narrow":
        return a["dim"] % rank == 0
    if op == "getitem":
        return _getitem_contiguous(a["index"], len(x))
    return True


def _getitem_contiguous(index: Sequence[Any], rank: int) -> bool:
    """Basic indexing keeps a contiguous tensor contiguous when it only restricts leading dims:
    ints, then at most one step-1 slice, every later dim untouched."""
    items = [i for i in index if i is not None]
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items = items[:k] + [slice(None)] * (rank - len(items) + 1) + items[k + 1:]
    state = "ints"
    for item in items:
        full = isinstance(item, slice) and item.start is None and item.stop is None and item.step in (None, 1)
        if state == "ints" and not isinstance(item, slice):
            continue
        if state == "ints" and isinstance(item, slice):
            state = "slice" if item.step in (None, 1) else "bad"
            continue
        if not full:
            return False
    return state != "bad"


# --------------------------------------------------------------------------- records


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


# --------------------------------------------------------------------------- helpers


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


def peak(values: Sequence[Dim], lows: Mapping[str, int] | None = None, proofs: int = 40) -> Dim:
    """The max of ``values``, without those another value surely bounds where every symbol
    ``s`` is at least ``lows[s]`` (default 1); a Max expression when several remain.

    A value is dropped only with a proof (:func:`shapeplan.core.bounds.surely_nonnegative`);
    sizes where the other is smaller rule a proof out first, and after ``proofs`` failed
    attempts the rest are kept (the Max is then longer, never wrong)."""
    lows = dict(lows or {})
    values = list(dict.fromkeys(values))
    names = sorted({n for v in values for n in free_symbols(v)})
    # sizes to refute a domination before trying to prove it: each symbol small or large
    grid = [0, 1, 2, 3, 7, 15, 100, 1000]
    samples = [{n: lows.get(n, 1) + k for n in names} for k in grid]
    samples += [{n: lows.get(n, 1) + (grid[(i + j) % len(grid)]) for j, n in enumerate(names)}
                for i in range(len(grid))]
    numbers = [[evaluate(v, env) for env in samples] for v in values]
    # a value that is the largest somewhere stays; any other goes if one of those surely bounds it
    top = list(dict.fromkeys(max(range(len(values)), key=lambda i: (numbers[i][k], -i)) for k in range(len(samples))))
    kept, failed = list(top), 0
    for j in range(len(values)):
        if j in top:
            continue
        for k in top:
            if any(x < y for x, y in zip(numbers[k], numbers[j])) or failed >= proofs:
                continue
            if surely_nonnegative(norm(values[k] - values[j]), lows):
                break
            failed += 1
        else:
            kept.append(j)
    if len(kept) == 1:
        return values[kept[0]]
    kept.sort()
    return norm(sympy.Max(*[values[k] for k in kept], evaluate=False))


def _live_steps(rep: Checked, dtype: str) -> tuple[tuple[tuple[str, Dim], ...], dict[str, bool]]:
    """(layer, live bytes during it), in execution order, and whether each layer allocates
    its output; see the module docstring."""
    from .propagate import layer_order

    net, results = rep.network, rep.propagation.results
    itemsize = DTYPES[dtype]
    order = layer_order(net)
    last: dict[str, int] = {}
    for i, layer in enumerate(order):
        for src in layer.inputs:
            last[src] = i
    keep = set(net.inputs) | set(net.outputs)
    storage: dict[str, str] = {}  # tensor -> the tensor that owns its memory
    size: dict[str, Dim] = {}  # owner -> elements
    holders: dict[str, set[str]] = {}  # owner -> live tensors using it
    contiguous: dict[str, bool] = {}
    for name, shape in net.inputs.items():
        storage[name], size[name], holders[name], contiguous[name] = name, prod(shape), {name}, True
    live: Dim = norm(sum(size.values(), 0))
    freed: set[str] = set()
    steps = []
    allocates: dict[str, bool] = {}
    for i, layer in enumerate(order):
        r = results[layer.name]
        assert r.shape is not None
        first = layer.inputs[0] if layer.inputs else None
        allocates[layer.name] = layer.op not in _STATE and not (
            first is not None and _aliases(r, contiguous[first], dtype))
        if layer.op in _STATE:  # module state: held by the module, not by the forward
            owner = layer.name
            size[owner], holders[owner] = 0, set()
            contiguous[layer.name] = True
            during = live
        elif not allocates[layer.name]:
            assert first is not None
            owner = storage[first]
            contiguous[layer.name] = contiguous[first] and _keeps_order(r)
            during = live
        else:
            owner = layer.name
            size[owner], holders[owner] = prod(r.shape), set()
            contiguous[layer.name] = True
            live = norm(live + size[owner])
            during = live
        storage[layer.name] = owner
        holders[owner].add(layer.name)
        steps.append((layer.name, norm(during * itemsize)))
        dead = [t for t in (*layer.inputs, layer.name) if last.get(t, i) == i and t not in keep]
        for t in dict.fromkeys(dead):
            o = storage[t]
            holders[o].discard(t)
            if not holders[o] and o not in freed:
                live = norm(live - size[o])
                freed.add(o)
    return tuple(steps), allocates


def compute_costs(rep: Checked, dtype: str = "float32") -> Costs:
    """The costs of every layer of ``rep`` (see the module docstring for the conventions)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    itemsize = DTYPES[dtype]
    results = rep.propagation.results
    rfs = receptive_fields(rep.network, results, ALL_RULES)
    layers = []
    for li in rep.layers:
        r = results.get(li.name)
        if r is None or r.shape is None:
            layers.append(LayerCost(li.name, li.op, None, None, None, None, None, None, None))
            continue
        params = norm(r.params if r.params is not None else 0)
        buffers = BUFFERS[li.op](r.args) if li.op in BUFFERS else 0
        macs = MACS[li.op](r) if li.op in MACS else 0
        elements = prod(r.shape)
        layers.append(LayerCost(li.name, li.op, params, _trainable(li.op, r.args, params), buffers, macs, elements,
                                norm(elements * itemsize), rfs.get(li.name)))
    complete = all(lc.elements is not None for lc in layers)
    steps, allocates = _live_steps(rep, dtype) if complete else ((), {})
    layers = [replace(lc, allocates=allocates.get(lc.name)) for lc in layers]
    symbols = list(rep.network.symbol_names())
    for s in rep.domain.symbols:
        if s not in symbols:
            symbols.append(s)
    inputs = {k: prod(v) for k, v in rep.network.inputs.items()}
    return Costs(dtype, tuple(layers), inputs, steps, tuple(symbols), {}, _lows(rep))


def _lows(rep: Checked) -> dict[str, int]:
    """The least valid value of each symbol (1 where nothing more is known)."""
    out: dict[str, int] = {}
    boxes = rep.domain.boxes
    for s in rep.domain.symbols:
        mins = [b[s].min() for b in boxes] if boxes else []
        known = [m for m in mins if m is not None]
        out[s] = max(1, min(known)) if known and len(known) == len(mins) else 1
    return out


__all__ = ["CONVENTION", "DTYPES", "Costs", "LayerCost", "Window", "compute_costs", "peak"]
