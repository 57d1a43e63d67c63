"""Padding: ZeroPad / ConstantPad / ReflectionPad / ReplicationPad / CircularPad (1d/2d/3d) and
``F.pad``, with negative pads (cropping) where torch allows them.

``pad`` lists (left, right) pairs starting from the LAST dim.  Each padded dim of size ``n``
becomes ``n + left + right``.  torch's rules (CPU, checked against torch over all small sizes
and pads, torch 2.14.1):

- any mode: ``len(pad)`` even and at most twice the input's rank;
- constant: any rank; each crop must fit (see :mod:`.padding`);
- reflect / replicate / circular: ``len(pad)`` is 2, 4 or 6 (k padded dims) and the input is
  (k+1)-D or (k+2)-D (batched); ``value`` must be None or 0;
- reflect / replicate: every non-batch dim non-empty (the batch may be 0);
- replicate: every padded output size >= 1;
- reflect: pads smaller than the size, every padded output size >= 0, and at least ONE padded
  output size >= 1 (the CPU kernel checks "out_h >= 1 or out_w >= 1", so an output with one
  empty padded dim passes; the meta kernel needs every one >= 1, as for replicate);
- circular: the input, after cropping, is wrapped at most once (see :mod:`.padding`).

``F.pad``'s amounts may be size expressions, of either sign (a traced UNet pads by
``diff // 2`` where ``diff`` is a difference of sizes); :mod:`.padding` states the same rules
for them as plain inequalities.

One documented reading: for reflect, where two or more padded output sizes are symbolic and
none is surely >= 1, shapeplan needs each of them >= 1 (torch needs one), since a condition
here is a single inequality.  This only matters with negative pads, at sizes giving an empty
output.
CircularPad modules also check the rank before padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from ..core.conditions import ge
from ..core.dims import Dim, Shape, fmt, norm
from .ctx import ArgError, RuleCtx
from .padding import pad_mode_requirements
from .params import Converter, choice_t, float_t, int_t, opt_t, schema_of, signed_size, with_schema
from .registry import Param, op

MODES = ("constant", "reflect", "replicate", "circular")
_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
_INT = int_t(None)
_FLOAT = float_t()


def _surely_ge(d: Dim, k: int) -> bool:
    if isinstance(d, int):
        return d >= k
    return bool(sympy.sympify(d - k).is_nonnegative)


def pad_shape(ctx: RuleCtx, x: Shape, pad: Sequence[Dim], mode: str, value: float | None) -> Shape:
    """The output of ``F.pad(x, pad, mode, value)``, stating torch's requirements."""
    rank = len(x)
    if len(pad) % 2:
        ctx.fail("pad", f"the pad list must have an even length, got {len(pad)}", param="pad")
    k = len(pad) // 2
    if k > rank:
        ctx.fail("pad", f"{len(pad)} pad values pad {k} dims, but the input is {rank}-D", param="pad")
    dims = [rank - 1 - i for i in range(k)]  # padded dims, last first
    lr = [(pad[2 * i], pad[2 * i + 1]) for i in range(k)]
    if mode != "constant":
        if value is not None and value != 0:
            ctx.fail("pad", f"padding mode {mode!r} doesn't take a value", param="value")
        if k not in (1, 2, 3) or rank not in (k + 1, k + 2):
            ctx.fail("rank", f"{mode} padding of {k} dims (a pad list of {len(pad)}) needs a {k + 1}-D or "
                             f"{k + 2}-D input, got {rank}-D", param="pad")
    names = _AXES.get(k, ())
    out = list(x)
    for i, (d, (left, right)) in enumerate(zip(dims, lr, strict=True)):
        where = f"input {names[k - 1 - i]}" if names and mode != "constant" else f"input dim {d}"
        pad_mode_requirements(ctx, mode, x[d], left, right, where)
        out[d] = norm(x[d] + left + right)
    if mode in ("reflect", "replicate"):
        first = 1 if rank == k + 2 else 0
        for d in range(first, rank - k):  # the channel dim; padded dims are checked above
            ctx.require(ge(x[d], 1), "empty", f"{mode} padding needs a non-empty dim {d}, but it is {fmt(x[d])}",
                        show=x[d])
        padded = [out[d] for d in dims]
        if mode == "replicate":  # torch 2.14: every padded output dim >= 1
            for d in dims:
                if not _surely_ge(out[d], 1):
                    ctx.require(ge(out[d], 1), "pad-too-large",
                                f"replicate padding needs every padded output dim >= 1, but dim {d} is {fmt(out[d])}",
                                hint="crop less", show=out[d])
            return tuple(out)
        for d in dims:
            if not _surely_ge(out[d], 0):
                ctx.require(ge(out[d], 0), "pad-too-large",
                            f"negative padding makes output dim {d} = {fmt(out[d])} negative", show=out[d])
        if not any(_surely_ge(o, 1) for o in padded):
            unknown = [o for o in padded if not isinstance(o, int)]
            if not unknown:
                ctx.fail("pad-too-large", f"negative padding leaves every padded dim empty: "
                                          f"{', '.join(map(fmt, padded))}", param="pad")
            for o in unknown:
                ctx.require(ge(o, 1), "pad-too-large", f"negative padding leaves a padded dim of {fmt(o)}",
                            hint="crop less", show=o)
    return tuple(out)


# --------------------------------------------------------------------------- converters


def _module_padding(n: int) -> Converter:
    """An int (all 2n sides) or a list of ints, used as given (torch's _ntuple)."""

    def conv(v: Any) -> tuple[int, ...]:
        if isinstance(v, (list, tuple)):
            if len(v) > 64:
                raise ArgError(f"too many values ({len(v)})")
            return tuple(_INT(p) for p in v)
        return (_INT(v),) * (2 * n)

    conv.__name__ = f"int or list of {2 * n} ints"
    return with_schema(conv, {"anyOf": [schema_of(_INT), schema_of(_pad_list)]})


def _pad_amount(v: Any) -> Dim:
    """One pad: an int (negative crops), a size expression, or a sympy expression (from
    sizes computed in a traced module: ``diff // 2``), which may be negative too."""
    if isinstance(v, (str, sympy.Expr)):
        return signed_size(v)
    out: int = _INT(v)
    return out


def _pad_list(v: Any) -> tuple[Dim, ...]:
    if not isinstance(v, (list, tuple)):
        raise ArgError(f"expected a list of ints (left, right, ...), got {v!r}")
    if len(v) > 64:
        raise ArgError(f"too many values ({len(v)})")
    return tuple(_pad_amount(p) for p in v)


_pad_list.__name__ = "list of ints or size expressions"
with_schema(_pad_list, {"type": "array", "items": {"anyOf": [schema_of(_INT), {"type": "string"}]}, "maxItems": 64})


# --------------------------------------------------------------------------- registrations


def _module_rule(n: int, mode: str, check_rank: bool) -> Any:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        x = xs[0]
        if check_rank:
            axes = ", ".join(_AXES[n])
            ctx.rank(x, (n + 1, n + 2), f"(C, {axes}) or (N, C, {axes})")
        value = a.get("value", 0.0) if mode == "constant" else None
        return pad_shape(ctx, x, a["padding"], mode, value)

    rule.__doc__ = f"{mode} padding of the last {n} dims: each grows by left + right"
    return rule


@op("pad", Param("pad", _pad_list), Param("mode", choice_t(*MODES), "constant"), Param("value", opt_t(_FLOAT), None),
    torch_name="F.pad")
def pad(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.pad: (*, d_k, ..., d_1) -> each padded dim grows by its left + right pad."""
    return pad_shape(ctx, xs[0], a["pad"], a["mode"], a["value"])


for _n in (1, 2, 3):
    _padding = Param("padding", _module_padding(_n))
    op(f"ZeroPad{_n}d", _padding)(_module_rule(_n, "constant", False))
    op(f"ConstantPad{_n}d", _padding, Param("value", _FLOAT))(_module_rule(_n, "constant", False))
    op(f"ReflectionPad{_n}d", _padding)(_module_rule(_n, "reflect", False))
    op(f"ReplicationPad{_n}d", _padding)(_module_rule(_n, "replicate", False))
    op(f"CircularPad{_n}d", _padding)(_module_rule(_n, "circular", True))
