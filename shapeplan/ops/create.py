"""Creation ops: tensors whose shape is given by arguments (zeros, ones, empty, full, rand,
randn, randperm, arange, linspace, logspace, eye), by another tensor (zeros_like, ...,
full_like), or by arguments to a method of another tensor (x.new_zeros, ..., x.new_full).

Only the ``*_like`` and ``new_*`` ops read a tensor (``*_like`` its shape, ``new_*`` nothing
but its dtype and device); the others read none (``n_inputs=(0, 0)``, as Parameter).
Sizes may be size expressions (``torch.zeros(N, C, H // 2)``); torch's checks:

- every size ``>= 0`` ("Dimension size must be non-negative" / "Trying to create tensor with
  negative dimension"), a symbolic size that may be negative is a requirement;
- arange(end) / arange(start, end, step=1): ``step != 0``, the bounds ordered as the step's
  sign says (``end >= start`` for a positive step); the length is ``ceil((end - start) /
  step)``, in integer arithmetic for ints and sizes, in double precision where a bound or the
  step is a float (as torch computes it, whatever the dtype); a symbolic step is not modelled;
- linspace / logspace: ``steps >= 0``; eye(n, m): ``n >= 0`` and ``m >= 0``;
- ``memory_format=torch.channels_last`` (empty, ``*_like``) needs a 4-D tensor,
  ``channels_last_3d`` a 5-D one; torch.empty takes no ``preserve_format``.

``dtype`` and ``requires_grad`` are kept (emitted code passes them on); ``layout`` (strided
only), ``device`` and ``pin_memory`` are checked and dropped: shapes do not depend on them,
and emitted code creates tensors on the default device.
"""

from __future__ import annotations

import math
from typing import Any

from ..core.dims import Dim, Shape, ceildiv, fmt, fmt_shape
from .ctx import ArgError, RuleCtx
from .params import (
    MAX_INT,
    SIGNED_SCHEMA,
    bool_t,
    choice_t,
    device_t,
    dropped_bool_t,
    dtype_t,
    float_t,
    int_t,
    layout_t,
    memory_format_t,
    opt_t,
    scalar_t,
    signed_size,
    with_schema,
)
from .registry import Param, op
from .tensor import need, surely_negative, surely_nonneg

# --------------------------------------------------------------------------- converters


def _sizes_t(v: Any) -> tuple[Dim, ...]:
    """A size or a list of sizes (ints of any sign, size expressions); [] is 0-d."""
    items = v if isinstance(v, (list, tuple)) else [v]
    if len(items) > 64:
        raise ArgError(f"too many sizes ({len(items)})")
    return tuple(signed_size(x) for x in items)


_sizes_t.__name__ = "size or list of sizes"
with_schema(_sizes_t, {"anyOf": [SIGNED_SCHEMA, {"type": "array", "items": SIGNED_SCHEMA, "maxItems": 64}]})
_FLOAT = float_t()


def _bound_t(v: Any) -> Any:
    """An arange / linspace bound: an int or a size expression, or a finite float."""
    if isinstance(v, float):
        f: float = _FLOAT(v)
        if abs(f) > MAX_INT:
            raise ArgError(f"{v} is too large")
        return f
    return signed_size(v)


_bound_t.__name__ = "number or size expression"
with_schema(_bound_t, {"anyOf": [{"type": "number", "minimum": -MAX_INT, "maximum": MAX_INT}, {"type": "string"}]})

_DTYPE = Param("dtype", dtype_t, None, kw_only=True)
_LAYOUT = Param("layout", layout_t, None, kw_only=True)
_DEVICE = Param("device", device_t, None, kw_only=True)
_GRAD = Param("requires_grad", bool_t, False, kw_only=True)
_PIN = Param("pin_memory", dropped_bool_t, False, kw_only=True)
FACTORY = (_DTYPE, _LAYOUT, _DEVICE, _GRAD, _PIN)  # torch's TensorOptions keywords
_LIKE = (_DTYPE, _LAYOUT, _DEVICE, _GRAD, Param("memory_format", opt_t(memory_format_t), None, kw_only=True))
_FILL = Param("fill_value", scalar_t)
_NONE: tuple[int, int] = (0, 0)

# --------------------------------------------------------------------------- helpers


def new_shape(ctx: RuleCtx, sizes: tuple[Dim, ...], what: str = "size") -> Shape:
    """A shape given as sizes: each must be >= 0."""
    for i, s in enumerate(sizes):
        if isinstance(s, int) and s < 0:
            ctx.fail("shape", f"has a negative size {s} at index {i} of {what} {fmt_shape(sizes)}",
                     hint="sizes must be >= 0", param=what)
        need(ctx, s, 0, "shape", f"size {fmt(s)} at index {i} of {what} {fmt_shape(sizes)} must not be negative",
             hint="sizes must be >= 0", show=s, param=what)
    return tuple(sizes)


def _memory_format(ctx: RuleCtx, fmt_name: str | None, rank: int, allow_preserve: bool = True) -> None:
    want = {"torch.channels_last": 4, "torch.channels_last_3d": 5}.get(fmt_name or "")
    if want is not None and rank != want:
        ctx.fail("memory-format", f"needs a {want}-D tensor to use {fmt_name}, got {rank}-D",
                 hint="use torch.contiguous_format", param="memory_format")
    if fmt_name == "torch.preserve_format" and not allow_preserve:
        ctx.fail("memory-format", "does not support torch.preserve_format", param="memory_format")


# --------------------------------------------------------------------------- from sizes


def _from_sizes(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.zeros(*size) -> size"""
    out = new_shape(ctx, a["size"])
    if "memory_format" in a:
        _memory_format(ctx, a["memory_format"], len(out), allow_preserve=False)
    return out


for _name in ("zeros", "ones", "rand", "randn"):
    op(_name, Param("size", _sizes_t), *FACTORY, n_inputs=_NONE, call_style="star")(_from_sizes)
op("empty", Param("size", _sizes_t), *FACTORY, Param("memory_format", opt_t(memory_format_t), None, kw_only=True),
   n_inputs=_NONE, call_style="star")(_from_sizes)


@op("full", Param("size", _sizes_t), _FILL, *FACTORY, n_inputs=_NONE)
def full(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.full(size, fill_value) -> size"""
    return new_shape(ctx, a["size"])


@op("randperm", Param("n", signed_size), *FACTORY, n_inputs=_NONE)
def randperm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.randperm(n) -> (n,)"""
    return new_shape(ctx, (a["n"],), "n")


@op("eye", Param("n", signed_size), Param("m", opt_t(signed_size), None), *FACTORY, n_inputs=_NONE)
def eye(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.eye(n, m=None) -> (n, m), (n, n) without m"""
    n, m = a["n"], a["m"]
    for name, v in (("n", n), ("m", m)):
        if v is None:
            continue
        if isinstance(v, int) and v < 0:
            ctx.fail("shape", f"{name} must be greater or equal to 0, got {v}", param=name)
        need(ctx, v, 0, "shape", f"{name}={fmt(v)} must not be negative", show=v, param=name)
    return (n, n if m is None else m)


# --------------------------------------------------------------------------- ranges


def _float_length(ctx: RuleCtx, start: Any, end: Any, step: Any) -> int:
    if any(not isinstance(v, (int, float)) for v in (start, end, step)):
        ctx.fail("arange", "mixes a float with a symbolic size; shapeplan computes float ranges only for numbers",
                 hint="use integer bounds and step")
    if step == 0:
        ctx.fail("arange", "step must be nonzero", param="step")
    if not (math.isfinite(start) and math.isfinite(end)):
        ctx.fail("arange", f"unsupported range: {start} -> {end}")
    if not ((step > 0 and end >= start) or (step < 0 and end <= start)):
        ctx.fail("arange", f"upper bound and lower bound inconsistent with step sign ({start} -> {end}, "
                           f"step {step})", param="step")
    return math.ceil((float(end) - float(start)) / float(step))


@op("arange", Param("start", _bound_t, 0), Param("end", opt_t(_bound_t), None), Param("step", _bound_t, 1),
    *FACTORY, n_inputs=_NONE, call_style="positional")
def arange(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.arange(end) / torch.arange(start, end, step=1) -> (ceil((end - start) / step),)"""
    start, end, step = a["start"], a["end"], a["step"]
    if end is None:
        if not (isinstance(step, int) and step == 1):
            ctx.fail("args", "torch.arange(end) takes no step; give start, end and step", param="step")
        start, end = 0, start
    if any(isinstance(v, float) for v in (start, end, step)):
        return (_float_length(ctx, start, end, step),)
    if not isinstance(step, int):
        ctx.fail("arange", f"step={fmt(step)} is symbolic; shapeplan models arange with a number step",
                 param="step")
    if step == 0:
        ctx.fail("arange", "step must be nonzero", param="step")
    span: Dim = end - start if step > 0 else start - end
    if surely_negative(span):
        ctx.fail("arange", f"upper bound and lower bound inconsistent with step sign ({fmt(start)} -> "
                           f"{fmt(end)}, step {step})", param="end")
    if not surely_nonneg(span):
        need(ctx, span, 0, "arange", f"upper bound {fmt(end)} and lower bound {fmt(start)} are inconsistent "
                                     f"with step sign (step {step})", show=span, param="end")
    return (ceildiv(span, abs(step)),)


def _spaced(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.linspace(start, end, steps) -> (steps,)"""
    steps = a["steps"]
    if isinstance(steps, int) and steps < 0:
        ctx.fail("steps", "number of steps must be non-negative", param="steps")
    need(ctx, steps, 0, "steps", f"number of steps {fmt(steps)} must be non-negative", show=steps, param="steps")
    return (steps,)


op("linspace", Param("start", _bound_t), Param("end", _bound_t), Param("steps", signed_size), *FACTORY,
   n_inputs=_NONE)(_spaced)
op("logspace", Param("start", _bound_t), Param("end", _bound_t), Param("steps", signed_size),
   Param("base", _FLOAT, 10.0), *FACTORY, n_inputs=_NONE)(_spaced)


# --------------------------------------------------------------------------- like another tensor


def _like(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.zeros_like(input) -> input's shape"""
    _memory_format(ctx, a["memory_format"], len(xs[0]))
    return xs[0]


for _name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
    op(_name, *_LIKE)(_like)
op("full_like", _FILL, *_LIKE)(_like)


def _new(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.new_zeros(size) -> size (x gives the dtype and device)"""
    return new_shape(ctx, a["size"])


_NEW = (_DTYPE, _DEVICE, _GRAD, _LAYOUT, _PIN)
for _name in ("new_zeros", "new_ones", "new_empty"):
    op(_name, Param("size", _sizes_t), *_NEW, torch_name=f"Tensor.{_name}", call_style="method_star")(_new)


@op("new_full", Param("size", _sizes_t), Param("fill_value", opt_t(scalar_t), None), *_NEW,
    torch_name="Tensor.new_full", call_style="method", n_inputs=(1, 2), input_names=("self", "fill_value"))
def new_full(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.new_full(size, fill_value) -> size.  fill_value is a number, or a 0-d tensor (torch reads
    it as a number: ``new_full(size, stride[i])``), then an input of its own."""
    if len(xs) == 2 and len(xs[1]) != 0:
        ctx.fail("fill-value", f"fill_value must be a number or a 0-d tensor, got a tensor of shape {fmt_shape(xs[1])}",
                 hint="index it down to one element: t[i] or t.reshape(())")
    if len(xs) == 1 and a["fill_value"] is None:
        ctx.fail("args", "new_full needs fill_value", param="fill_value")
    return new_shape(ctx, a["size"])

CREATION: frozenset[str] = frozenset(
    ("zeros", "ones", "rand", "randn", "empty", "full", "randperm", "eye", "arange", "linspace", "logspace"))
LIKE: frozenset[str] = frozenset(("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like", "full_like",
                                  "new_zeros", "new_ones", "new_empty", "new_full"))


# --------------------------------------------------------------------------- meshgrid


@op("meshgrid", Param("indexing", opt_t(choice_t("ij", "xy")), None), Param("item", int_t(0), 0), n_inputs=(1, None),
    torch_name="torch.meshgrid")
def meshgrid(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.meshgrid(*tensors, indexing='ij')[item]: every output has one dim per input (its
    number of elements; the first two swapped with 'xy'); the inputs are 0-D or 1-D.  No
    indexing: torch's default, 'ij' (with its warning)."""
    for i, x in enumerate(xs):
        if len(x) > 1:
            ctx.fail("rank", f"meshgrid expects 0-D or 1-D tensors, but input {i} is {fmt_shape(x)}")
    if a["item"] >= len(xs):
        ctx.fail("args", f"meshgrid of {len(xs)} tensors has no output {a['item']}", param="item")
    sizes = [x[0] if x else 1 for x in xs]
    if a["indexing"] == "xy" and len(sizes) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    return tuple(sizes)
