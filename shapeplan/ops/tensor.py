"""Tensor-level ops met in real forward code: tensor attributes (Parameter, Buffer), narrow,
indexing (getitem), expand / expand_as, and the shape-keeping elementwise functions and
methods (sqrt, exp, clamp, pow, clone, float, type_as, ...).

- Parameter / Buffer read no tensor: their output is their ``shape`` (ints).  Emitted code
  creates them in ``__init__`` (``nn.Parameter(torch.zeros(shape))``,
  ``self.register_buffer(name, torch.zeros(shape))``) and reads ``self.name`` in forward.
- narrow(input, dim, start, length): ``-size <= start <= size`` (a negative start wraps),
  ``length >= 0``, ``start + length <= size`` after wrapping.  ``start``/``length`` may be
  size expressions; a symbolic start must have a known sign (it decides the wrap).
- getitem, ``x[index]`` with ints, None (a new axis), ``...`` and slices ``start:stop:step``
  (step > 0; torch has no negative steps), as torch's ``applySlicing``: an int ``i`` on a
  dim of size ``n`` needs ``-n <= i < n`` and removes the dim; a slice keeps
  ``ceil(max(stop' - start', 0) / step)`` elements, where negative bounds count from the end
  and both are clamped to ``[0, n]`` (with symbolic sizes: ``min`` / ``max`` expressions); at
  most as many ints and slices as dims.  torch accepts several ``...`` (each skips the dims
  no other item names), which is modelled too.
- expand(*size): torch's ``inferExpandGeometry``: at least as many sizes as dims; new
  leading dims take the given size (never -1); -1 keeps a dim; another size must equal the
  dim unless the dim is 1.  As for broadcasting (merge.py), a symbolic dim is never taken as
  the 1 that stretches: ``(N, H).expand(N, 5)`` needs ``H == 5`` (torch also takes H == 1).
- elementwise: any shape; ``pow`` with a tensor exponent broadcasts (merge.py's rule);
  ``clamp`` needs ``min`` or ``max`` (numbers), or takes tensor bounds that broadcast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.conditions import eq, ge
from ..core.dims import Dim, Shape, ceildiv, dmax, dmin, fmt, fmt_shape, norm, prod
from .ctx import ArgError, RuleCtx
from .merge import binary, broadcast_shapes, same
from .params import SIGNED_SCHEMA, bool_t, float_t, int_t, opt_t, schema_of, signed_size, with_schema
from .registry import Param, norm_dim, op
from .reshape import _shape_t

_INT = int_t(None)
_NUMBER = float_t()
_STRING = {"type": "string"}

# --------------------------------------------------------------------------- helpers


def surely_nonneg(d: Dim) -> bool:
    """``d >= 0`` at every input size (symbols are positive integers)."""
    d = norm(d)
    return d >= 0 if isinstance(d, int) else bool(d.is_nonnegative)


def surely_negative(d: Dim) -> bool:
    d = norm(d)
    return d < 0 if isinstance(d, int) else bool(d.is_negative)


def need(ctx: RuleCtx, lhs: Dim, rhs: Dim, code: str, message: str, hint: str | None = None,
         show: Dim | None = None, param: str | None = None) -> None:
    """Require ``lhs >= rhs``, unless it surely holds."""
    if surely_nonneg(norm(lhs - rhs)):  # type: ignore[operator]
        return
    ctx.require(ge(lhs, rhs), code, message, hint=hint, show=show, param=param)




# --------------------------------------------------------------------------- Parameter / Buffer


def _attr_shape(v: Any) -> tuple[int, ...]:
    items = v if isinstance(v, (list, tuple)) else [v]
    if len(items) > 64:
        raise ArgError(f"too many sizes ({len(items)})")
    one = int_t(0)
    return tuple(one(x) for x in items)


_attr_shape.__name__ = "list of sizes (ints >= 0)"
with_schema(_attr_shape, {"anyOf": [schema_of(int_t(0)), {"type": "array", "items": schema_of(int_t(0)),
                                                          "maxItems": 64}]})


@op("Parameter", Param("shape", _attr_shape), Param("requires_grad", bool_t, True), n_inputs=(0, 0),
    param_count=lambda a: prod(a["shape"]), torch_name="nn.Parameter", call_style="parameter")
def parameter(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """A learnable tensor of the given shape (a module attribute): () -> shape"""
    return tuple(a["shape"])


@op("Buffer", Param("shape", _attr_shape), Param("persistent", bool_t, True), n_inputs=(0, 0),
    torch_name="Module.register_buffer", call_style="buffer")
def buffer(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """A registered buffer of the given shape (not a parameter): () -> shape"""
    return tuple(a["shape"])


# --------------------------------------------------------------------------- narrow


def _wrap_start(ctx: RuleCtx, start: Dim, n: Dim, what: str) -> Dim:
    """A start that may count from the end (negative): its position from the front."""
    if surely_nonneg(start):
        return start
    if surely_negative(start):
        return norm(start + n)  # type: ignore[operator]
    ctx.fail("symbolic-sign", f"{what}={fmt(start)} may be negative or not, which decides whether it counts "
                              "from the end; shapeplan needs to know its sign",
             hint="write the position from the front", param=what)
    raise AssertionError("unreachable")


@op("narrow", Param("dim", _INT), Param("start", signed_size), Param("length", signed_size),
    torch_name="torch.narrow")
def narrow(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.narrow(input, dim, start, length): dim keeps `length` elements from `start`."""
    x, start, length = xs[0], a["start"], a["length"]
    if not x:
        ctx.fail("rank", "cannot be applied to a 0-d tensor")
    d = norm_dim(a["dim"], len(x), ctx)
    n = x[d]
    need(ctx, length, 0, "narrow", f"length={fmt(length)} must not be negative", show=length, param="length")
    need(ctx, norm(start + n), 0, "narrow",  # type: ignore[operator]
         f"start={fmt(start)} is out of range for dim {d} of size {fmt(n)} (expected -{fmt(n)} to {fmt(n)})",
         show=n, param="start")
    need(ctx, n, start, "narrow",
         f"start={fmt(start)} is out of range for dim {d} of size {fmt(n)} (expected -{fmt(n)} to {fmt(n)})",
         show=n, param="start")
    begin = _wrap_start(ctx, start, n, "start")
    need(ctx, n, norm(begin + length), "narrow",
         f"start ({fmt(begin)}) + length ({fmt(length)}) exceeds dim {d} of size {fmt(n)}",
         hint="take fewer elements, or start earlier", show=n, param="length")
    return (*x[:d], length, *x[d + 1:])


# --------------------------------------------------------------------------- getitem


def _index_item(v: Any) -> Any:
    if v is None:
        return None
    if v is Ellipsis or (isinstance(v, str) and v.strip() == "..."):
        return Ellipsis
    if isinstance(v, slice):
        return slice(*(None if p is None else signed_size(p) for p in (v.start, v.stop, v.step)))
    if isinstance(v, str) and ":" in v:
        parts = v.split(":")
        if len(parts) > 3:
            raise ArgError(f"a slice is start:stop:step, got {v!r}"[:80])
        parts += [""] * (3 - len(parts))
        return slice(*(signed_size(p) if p.strip() else None for p in parts))
    return signed_size(v)


def _index_t(v: Any) -> tuple[Any, ...]:
    items = v if isinstance(v, (list, tuple)) else [v]
    if len(items) > 64:
        raise ArgError(f"too many index items ({len(items)})")
    return tuple(_index_item(x) for x in items)


_index_t.__name__ = "index: list of ints, null, '...' and slices 'start:stop:step'"
_ITEM_SCHEMA = {"anyOf": [*SIGNED_SCHEMA["anyOf"], {"type": "null"}]}
with_schema(_index_t, {"anyOf": [_ITEM_SCHEMA, {"type": "array", "items": _ITEM_SCHEMA, "maxItems": 64}]})


def _bound(ctx: RuleCtx, b: Dim | None, n: Dim, default: Dim) -> Dim:
    """A slice bound as a position in [0, n]: negative counts from the end, then clamped."""
    if b is None:
        return default
    if surely_nonneg(b):
        return dmin(b, n)
    if surely_negative(b):
        return dmax(norm(n + b), 0)  # type: ignore[operator]
    if ctx.oracle is not None:  # a case each way: counted from the front, or from the end
        return dmin(b, n) if ctx.decide(ge(b, 0), prefer=True) else dmax(norm(n + b), 0)  # type: ignore[operator]
    ctx.fail("symbolic-sign", f"slice bound {fmt(b)} may be negative or not, which decides whether it counts "
                              "from the end; shapeplan needs to know its sign",
             hint="write the bound from the front", param="index")
    raise AssertionError("unreachable")


def slice_length(ctx: RuleCtx, n: Dim, s: slice) -> Dim:
    """How many elements ``x[start:stop:step]`` keeps of a dim of size ``n``."""
    step = 1 if s.step is None else s.step
    if not isinstance(step, int):
        ctx.fail("index", f"slice step {fmt(step)} must be an integer", param="index")
    if step <= 0:
        ctx.fail("index", f"slice step must be greater than zero, got {step}", hint="torch has no negative steps: "
                 "use torch.flip", param="index")
    begin, end = _bound(ctx, s.start, n, 0), _bound(ctx, s.stop, n, n)
    length = norm(end - begin)  # type: ignore[operator]
    ordered = (s.start is None or s.stop is None
               or (isinstance(s.start, int) and isinstance(s.stop, int) and s.stop >= s.start
                   and (s.start >= 0) == (s.stop >= 0)))
    if not ordered and not surely_nonneg(length):
        length = dmax(length, 0)
    return length if step == 1 else ceildiv(length, step)


def _index_text(index: tuple[Any, ...]) -> str:
    from .calls import py_value

    return "[" + ", ".join(py_value(i) for i in index) + "]"


@op("getitem", Param("index", _index_t), torch_name="Tensor.__getitem__", call_style="getitem")
def getitem(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x[index]: ints select (and drop a dim), slices keep a range, None adds a dim of 1, ... skips dims."""
    x, index = xs[0], a["index"]
    rank = len(x)
    specified = sum(1 for i in index if i is not None and i is not Ellipsis)
    if specified > rank:
        ctx.fail("index", f"has too many indices ({specified}) for a {rank}-D tensor {fmt_shape(x)}",
                 param="index")
    out = list(x)
    d = 0
    for item in index:
        if item is Ellipsis:
            d += rank - specified
        elif d > len(out) or (d == len(out) and item is not None):  # only reachable with several `...`
            ctx.fail("index", f"index {_index_text(index)} reaches past the last dim of {fmt_shape(x)}",
                     param="index")
        elif item is None:
            out.insert(d, 1)
            d += 1
        elif isinstance(item, slice):
            out[d] = slice_length(ctx, out[d], item)
            d += 1
        else:
            n = out[d]
            msg = f"index {fmt(item)} is out of bounds for a dim of size {fmt(n)} (in {_index_text(index)})"
            # -n <= item < n (a size is >= 0, so an int item needs only one side)
            if not (isinstance(item, int) and item >= 0):
                need(ctx, norm(n + item), 0, "index", msg, show=n, param="index")
            if not (isinstance(item, int) and item < 0):
                need(ctx, norm(n - 1), item, "index", msg, show=n, param="index")
            del out[d]
    return tuple(out)


# --------------------------------------------------------------------------- expand


def expand_shape(ctx: RuleCtx, x: Shape, sizes: tuple[Dim, ...]) -> Shape:
    """torch's ``inferExpandGeometry``: ``x`` expanded to ``sizes`` (-1 keeps a dim)."""
    if len(sizes) < len(x):
        ctx.fail("expand", f"got {len(sizes)} sizes {fmt_shape(sizes)} for a {len(x)}-D input {fmt_shape(x)}",
                 hint="give at least one size per dim (-1 keeps a dim)", param="size")
    out: list[Dim] = []
    lead = len(sizes) - len(x)
    for i, t in enumerate(sizes):
        if isinstance(t, int) and t < -1:
            ctx.fail("expand", f"has an invalid size {t} at index {i}", hint="sizes are >= 0, or -1", param="size")
        if i < lead:  # a new leading dim
            if isinstance(t, int) and t == -1:
                ctx.fail("expand", f"cannot keep (-1) the new leading dim {i}", hint="give its size", param="size")
            need(ctx, t, 0, "expand", f"size {fmt(t)} at index {i} must not be negative", show=t, param="size")
            out.append(t)
            continue
        s = x[i - lead]
        if (isinstance(t, int) and t == -1) or same(s, t):
            out.append(s)
        elif ctx.decide(eq(s, 1), prefer=False):
            need(ctx, t, 0, "expand", f"size {fmt(t)} at index {i} must not be negative", show=t, param="size")
            out.append(t)
        else:
            ctx.require(eq(s, t), "expand",
                        f"cannot expand dim {i - lead} of size {fmt(s)} to {fmt(t)} (only a dim of 1 stretches)",
                        hint="expand only dims of size 1, or use -1 to keep a dim", show=s, param="size")
            out.append(t)
    return tuple(out)


@op("expand", Param("size", _shape_t("size")), torch_name="Tensor.expand", call_style="method_star")
def expand(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.expand(*size): dims of 1 stretch to the size; -1 keeps a dim; new leading dims may be added."""
    return expand_shape(ctx, xs[0], a["size"])


@op("expand_as", n_inputs=(2, 2), torch_name="Tensor.expand_as", call_style="method")
def expand_as(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.expand_as(other): x.expand(other.shape)."""
    return expand_shape(ctx, xs[0], xs[1])


# --------------------------------------------------------------------------- elementwise


def _same_shape(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*) -> (*)"""
    return xs[0]


for _name in ("sqrt", "rsqrt", "exp", "log", "abs", "neg", "square", "reciprocal", "sign", "floor", "ceil", "erf"):
    op(_name)(_same_shape)
op("round", Param("decimals", _INT, 0))(_same_shape)
for _name in ("clone", "detach", "float", "half", "double", "bfloat16", "long", "int", "short", "char", "byte", "bool"):
    op(_name, torch_name=f"Tensor.{_name}", call_style="method")(_same_shape)


@op("type_as", n_inputs=(2, 2), torch_name="Tensor.type_as", call_style="method")
def type_as(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """x.type_as(other): x's shape, other's dtype."""
    return xs[0]


@op("clamp", Param("min", opt_t(_NUMBER), None), Param("max", opt_t(_NUMBER), None), aliases=("clip",),
    n_inputs=(1, 3), input_names=("input", "min", "max"))
def clamp(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.clamp(input, min=None, max=None): (*) -> (*); at least one bound.  Tensor bounds
    (min, then max, in `from`) broadcast with the input; a tensor bound next to a number bound
    must be 0-d (torch then reads it as a number)."""
    if len(xs) > 1:
        numbers = [k for k in ("min", "max") if a[k] is not None]
        if len(xs) + len(numbers) > 3 or (numbers and numbers[0] == "min"):
            ctx.fail("args", f"got {len(xs) - 1} tensor bound(s) and a number {numbers[0]}; the tensors in `from` "
                             "are min, then max", param=numbers[0])
        if numbers and xs[1]:
            ctx.fail("args", f"takes a tensor min next to a number max only when the tensor is 0-d, got "
                             f"{fmt_shape(xs[1])}", hint="give both bounds as tensors, or both as numbers",
                     param="max")
        return broadcast_shapes(ctx, xs)
    if a["min"] is None and a["max"] is None:
        ctx.fail("args", "needs at least one of min and max", hint="add min: or max:", param="min")
    return xs[0]


def _one_bound(key: str) -> Callable[[RuleCtx, list[Shape], dict[str, Any]], Shape]:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        return binary(ctx, xs, a, key)

    rule.__doc__ = f"torch.clamp_{key}(input, {key}): (*) -> (*); a tensor {key} broadcasts with the input."
    return rule


for _key in ("min", "max"):
    op(f"clamp_{_key}", Param(_key, opt_t(_NUMBER), None), n_inputs=(1, 2), input_names=("input", _key))(
        _one_bound(_key))


@op("pow", Param("exponent", opt_t(_NUMBER), None), n_inputs=(1, 2))
def pow_(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.pow(input, exponent): a number keeps the shape; a tensor exponent broadcasts."""
    if len(xs) == 2:
        if a["exponent"] is not None:
            ctx.fail("arity", "got a tensor exponent in `from` and a number `exponent`; give one of them",
                     param="exponent")
        return broadcast_shapes(ctx, xs)
    if a["exponent"] is None:
        ctx.fail("arity", "needs an exponent: a number `exponent`, or a second tensor in `from`",
                 param="exponent")
    return xs[0]
