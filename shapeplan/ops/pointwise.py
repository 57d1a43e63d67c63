"""Output layouts of the elementwise ops: TensorIterator's output (:mod:`.iterator`) for the
unary, binary and ternary ops (a Python number is a 0-d operand; comparisons, logical ops and
tests give bool), ``empty_like(input)`` for hardtanh, relu6 and prelu, a new contiguous tensor
for rrelu and logsigmoid, the input itself for an in-place op (and ``positive``), and the
composites torch writes with several elementwise ops (softsign, tanhshrink, glu, normalize,
isnan / isinf / isfinite, dropout in training).
"""

from __future__ import annotations

from typing import Any

from ..core.dims import Shape
from .ask import Ask, settle
from .ctx import RuleCtx
from .iterator import iterate, scalar
from .layout import Layout
from .layouts import LayoutFn, alias, copied, derived, layout_of, squeeze, unsqueeze

# --------------------------------------------------------------------------- elementwise


def _inplace(a: dict[str, Any]) -> bool:
    return bool(a.get("inplace"))


def written(ctx: RuleCtx, x: Layout) -> Layout:
    """``x`` itself, written in place: torch refuses to write into memory where several
    elements are one (a dim of stride 0, from expand, of size >= 2) of a non-empty tensor.
    Nothing is asked of a layout known not to overlap (``Layout.overlap``: new memory, or views
    of it; in-place activations after convs in a deep network)."""
    if x.overlap and settle(ctx, lambda ask: not ask.empty(x.shape) and _overlaps(ask, x)):
        ctx.fail("inplace-overlap", "writes in place into memory where several elements are one (an expanded "
                                    "dim, stride 0): torch refuses it", hint="clone() the input first, or drop "
                                                                            "inplace=True", param="inplace")
    return x


def _overlaps(ask: Ask, x: Layout) -> bool:
    return any(isinstance(s, int) and s == 0 and not ask.one(n) for n, s in zip(x.shape, x.strides(ask), strict=True))


def _unary(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return written(ctx, ins[0]) if _inplace(a) else iterate(out, ins[:1])


def _binary(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    if len(ins) == 1:  # a number as the other operand
        return iterate(out, [ins[0], scalar()]) if a.get("other") is not None else iterate(out, ins)
    return iterate(out, ins[:2])


_UNARY = ("ReLU", "Sigmoid", "Hardsigmoid", "Tanh", "SiLU", "Mish", "Hardswish",
          "ELU", "CELU", "SELU", "GELU", "Hardshrink", "LeakyReLU", "Softplus", "Softshrink", "relu",
          "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid", "tanh", "hardsigmoid",
          "hardswish", "softplus", "hardshrink", "softshrink", "sqrt", "rsqrt", "exp", "log", "abs",
          "neg", "square", "reciprocal", "sign", "floor", "ceil", "erf", "round")
_UNARY_MATH = ("acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "deg2rad",
               "rad2deg", "digamma", "lgamma", "erfc", "erfinv", "exp2", "expm1", "log10", "log1p", "log2", "logit",
               "frac", "trunc", "i0", "sgn", "sinc", "bitwise_not")
for _name in (*_UNARY, *_UNARY_MATH):
    layout_of(_name)(_unary)


@layout_of("clamp", "clip", "clamp_min", "clamp_max")
def _clamp(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """Number bounds: a unary op; tensor bounds: TensorIterator over the input and the bounds."""
    return _unary(ctx, ins, a, out) if len(ins) == 1 else iterate(out, ins)


def _bool(fn: LayoutFn) -> LayoutFn:
    """``fn``'s layout, of a bool tensor (a comparison, a logical op, a test)."""

    def bool_fn(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
        return fn(ctx, ins, a, out).with_dtype("bool")

    return bool_fn


def _two(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return iterate(out, ins[:2])


def _isnan(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return iterate(out, [ins[0], ins[0]])  # input != input


def _isinf(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return iterate(out, [iterate(out, ins[:1]), scalar()])  # input.abs() == inf


def _isfinite(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return iterate(out, [_isnan(ctx, ins, a, out), _isinf(ctx, ins, a, out)])  # (x == x) * (x.abs() != inf)


_BOOL: dict[str, LayoutFn] = {"signbit": _unary, "isposinf": _unary, "isneginf": _unary, "logical_not": _unary,
                              "isnan": _isnan, "isinf": _isinf, "isfinite": _isfinite, "logical_and": _two,
                              "logical_or": _two, "logical_xor": _two}
for _name in ("eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal"):
    _BOOL[_name] = _binary
for _name, _fn in _BOOL.items():
    layout_of(_name)(_bool(_fn))


@layout_of("Threshold", "threshold")
def _threshold(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """In place, threshold_ writes without torch's overlap check."""
    return ins[0] if _inplace(a) else iterate(out, ins[:1])
for _name in ("add", "sub", "mul", "div", "maximum", "minimum", "pow", "divide", "floor_divide", "fmod", "remainder",
              "multiply", "subtract", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
              "bitwise_right_shift"):
    layout_of(_name)(_binary)
layout_of("atan2", "hypot")(_two)


@layout_of("positive")
def _positive(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return ins[0]  # torch returns its input


@layout_of("addcmul", "addcdiv", "lerp")
def _ternary(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """TensorIterator over (input, tensor1, tensor2) / (input, end, weight); lerp's number
    weight is no operand."""
    return iterate(out, ins[:3])


@layout_of("where")
def _where(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """TensorIterator over (condition, input, other), a number being a 0-d tensor."""
    given = iter(ins[1:])
    operands = [ins[0], *(scalar() if a.get(k) is not None else next(given) for k in ("input", "other"))]
    return iterate(out, operands)


@layout_of("masked_fill_")
def _masked_fill_(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return ins[0]  # torch only warns when it writes into overlapping memory (an expanded input)


@layout_of("max", "min")
def _extreme(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return iterate(out, ins[:2]) if len(ins) == 2 else Layout.contiguous(out)


@layout_of("RReLU", "rrelu", "LogSigmoid", "logsigmoid")
def _own_output(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return written(ctx, ins[0]) if _inplace(a) else Layout.contiguous(out, ins[0].dtype)


@layout_of("Softsign", "softsign")
def _softsign(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]  # input / (input.abs() + 1)
    return iterate(out, [x, iterate(out, [iterate(out, [x]), scalar()])])


@layout_of("Tanhshrink", "tanhshrink")
def _tanhshrink(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]  # input - input.tanh()
    return iterate(out, [x, iterate(out, [x])])


@layout_of("Hardtanh", "ReLU6", "hardtanh", "relu6", "PReLU", "prelu", "deg2rad", "rad2deg", "nan_to_num")
def _like_input(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    """An output made with ``empty_like(input)`` (hardtanh, prelu, deg2rad, nan_to_num), then filled."""
    return written(ctx, ins[0]) if _inplace(a) else copied(ins[0])


@layout_of("GLU", "glu")
def _glu(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    half = derived(ins[0], out, lambda ask, s: s)  # x.narrow(dim, 0, n) and x.narrow(dim, n, n)
    return iterate(out, [half, half])


@layout_of("normalize")
def _normalize(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    x = ins[0]  # input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    dim = a["dim"]
    dims = {d % len(x.shape) for d in ((dim,) if isinstance(dim, int) else dim)} if x.shape else set()
    kept = tuple(1 if i in dims else n for i, n in enumerate(x.shape))
    denom = Layout.contiguous(kept)
    expanded = derived(denom, out, lambda ask, s: tuple(0 if i in dims and not ask.one(out[i]) else v
                                                        for i, v in enumerate(s)))
    return iterate(out, [x, expanded])


# --------------------------------------------------------------------------- dropout


def _dropout(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape, feature: bool) -> Layout:
    x, p = ins[0], a["p"]
    if not a.get("training") or p == 0:
        return x
    if _inplace(a):
        return written(ctx, x)
    if p == 1:
        return iterate(out, [x, Layout.contiguous(())])
    if not feature:
        return iterate(out, [x, copied(x)])
    noise = tuple(n if i < 2 else 1 for i, n in enumerate(out))
    return iterate(out, [x, Layout.contiguous(noise)])


@layout_of("dropout", "alpha_dropout")
def _dropout_plain(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return _dropout(ctx, ins, a, out, feature=False)


@layout_of("dropout2d", "feature_alpha_dropout")
def _dropout_feature(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
    return _dropout(ctx, ins, a, out, feature=True)


def _dropout_batched(rank: int) -> LayoutFn:
    """dropout1d / dropout3d: an input without a batch dim gets one for the dropout."""

    def fn(ctx: RuleCtx, ins: list[Layout], a: dict[str, Any], out: Shape) -> Layout:
        x = ins[0]
        if len(x.shape) == rank or not a.get("training") or a["p"] == 0 or _inplace(a):  # unsqueeze_ / squeeze_
            return _dropout(ctx, ins, a, out, feature=True)
        y = unsqueeze(x, 0)
        return squeeze(_dropout(ctx, [y], a, y.shape, feature=True), {0})

    return fn


layout_of("dropout1d")(_dropout_batched(3))
layout_of("dropout3d")(_dropout_batched(5))


for _name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
    layout_of(_name)(alias)
