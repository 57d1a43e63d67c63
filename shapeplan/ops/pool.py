"""Pooling: MaxPool, AvgPool, LPPool, AdaptiveAvgPool, AdaptiveMaxPool (1d/2d/3d), and their
``torch.nn.functional`` forms, with the exact checks torch's CPU kernels make.

Sliding windows (effective kernel ``e = d*(k-1) + 1``)::

    floor mode:  out = (n + 2p - e) // s + 1
    ceil mode:   out = (n + 2p - e + s - 1) // s + 1, minus one when the last window would start
                 in the right padding ((out-1)*s >= n + p).  Under torch's limit p <= k//2 the
                 drop happens at most once, and both cases are one floor division:
                 out = (n + min(2p - e + s - 1, p - 1)) // s + 1

torch then needs: p <= k//2 (for every dilation), out >= 1, every dim but the batch dim
non-empty, and for avg_pool3d (so AvgPool3d and LPPool3d) input >= kernel_size in every
spatial dim, padding notwithstanding.

Adaptive pools: out = output_size (None keeps that dim).  adaptive_max_pool needs tensor
dims 1.. non-empty; adaptive_avg_pool 1d/2d needs the spatial dims non-empty and 3d the dims
1.., except when every output size is 1: torch then takes a plain mean and checks nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sympy

from ..core.conditions import ge
from ..core.dims import Dim, FloorDiv, Shape, floordiv, fmt, norm, prod
from .ctx import ArgError, RuleCtx
from .params import Converter, bool_t, dim_t, float_t, int_t, ints_t, opt_t, schema_of, with_schema
from .registry import PAIR_ITEM, Param, op

_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


# --------------------------------------------------------------------------- converters


def _ints(n: int, minimum: int) -> Converter:
    """An int or a list of n ints; a 1-element list is repeated, as torch's pooling kernels do."""
    inner = ints_t(n, minimum)

    def conv(v: Any) -> tuple[int, ...]:
        if isinstance(v, (list, tuple)) and len(v) == 1 and n > 1:
            v = v[0]
        return inner(v)  # type: ignore[no-any-return]

    conv.__name__ = f"int or list of {n} ints"
    s = schema_of(inner)
    return with_schema(conv, s if n == 1 or s is None else
                       {"anyOf": [s, {"type": "array", "items": s, "minItems": 1, "maxItems": 1}]})


def _stride_t(n: int) -> Converter:
    """A pool's stride: like its kernel, or an empty list (torch then takes the kernel's size)."""
    inner = _ints(n, 1)

    def conv(v: Any) -> tuple[int, ...] | None:
        if isinstance(v, (list, tuple)) and len(v) == 0:
            return None
        return inner(v)  # type: ignore[no-any-return]

    conv.__name__ = f"{inner.__name__}, or [] for the kernel's size"
    s = schema_of(inner)
    return with_schema(conv, None if s is None else {"anyOf": [s, {"type": "array", "maxItems": 0}]})


def _any_int(v: Any) -> int:
    out: int = int_t(None)(v)  # torch takes any non-zero divisor; the rule rejects 0
    return out


with_schema(_any_int, schema_of(int_t(None)))


def _output_size_t(n: int) -> Converter:
    """Adaptive pools' output_size: a size, or a list of n sizes (None keeps a dim, except in 1d)."""
    one = dim_t()

    def item(x: Any) -> Any:
        if x is None:
            if n == 1:
                raise ArgError("output_size cannot be None for a 1d adaptive pool")
            return None
        return one(x)

    def conv(v: Any) -> tuple[Any, ...]:
        if isinstance(v, (list, tuple)):
            if len(v) != n:
                raise ArgError(f"expected {n} output sizes, got {len(v)}")
            return tuple(item(x) for x in v)
        if v is None:
            raise ArgError("output_size cannot be None" + ("" if n == 1 else f"; write a list such as {[None] * n}"))
        return (one(v),) * n

    conv.__name__ = "size or list of sizes (None keeps a dim)"
    s = schema_of(one)
    item_s = s if n == 1 or s is None else {"anyOf": [s, {"type": "null"}]}
    return with_schema(conv, None if s is None else
                       {"anyOf": [s, {"type": "array", "items": item_s, "minItems": n, "maxItems": n}]})


# --------------------------------------------------------------------------- shared checks


def _lower_bound(e: sympy.Expr) -> int | None:
    """A sound lower bound of ``e`` over positive integer symbols, or None when unsure.

    Interval arithmetic over the forms sizes usually take (sums, positive multiples,
    floor divisions, min/max), so that ``(H + 1)//2 >= 1`` needs no runtime check.
    """
    if e.is_Integer:
        return int(e)
    if e.is_Symbol:
        return 1 if e.is_positive else None
    if e.is_Add:
        parts = [_lower_bound(t) for t in e.args]
        return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
    if e.is_Mul:
        out = 1
        for t in e.args:
            lb = _lower_bound(t)
            if lb is None or lb < 0:
                return None
            out *= lb
        return out
    if isinstance(e, FloorDiv):
        lb = _lower_bound(e.args[0])
        return None if lb is None else lb // int(e.args[1])
    if isinstance(e, (sympy.Min, sympy.Max)):
        parts = [_lower_bound(t) for t in e.args]
        if isinstance(e, sympy.Max):
            known = [p for p in parts if p is not None]
            return max(known) if known else None
        return None if any(p is None for p in parts) else min(p for p in parts if p is not None)
    return None


def _surely_positive(d: Dim) -> bool:
    if isinstance(d, int):
        return d > 0
    if d.is_positive:
        return True
    lb = _lower_bound(d)
    return lb is not None and lb >= 1


def _layout(ctx: RuleCtx, x: Shape, n: int) -> None:
    """(C, *spatial) or (N, C, *spatial): torch's pools take both."""
    axes = ", ".join(_AXES[n])
    ctx.rank(x, (n + 1, n + 2), f"(C, {axes}) or (N, C, {axes})")


def _nonempty(ctx: RuleCtx, d: Dim, what: str) -> None:
    if _surely_positive(d):
        return
    ctx.require(ge(d, 1), "empty", f"needs a non-empty {what}, but it is {fmt(d)}",
                hint=f"torch's pooling rejects empty inputs: make {what} >= 1", show=d)


def _check_padding(ctx: RuleCtx, k: Sequence[int], p: Sequence[int]) -> None:
    for ki, pi in zip(k, p, strict=True):
        if pi > ki // 2:
            ctx.fail(
                "padding",
                f"padding={pi} is more than half of kernel_size={ki} (torch needs padding <= {ki // 2})",
                hint=f"use padding <= {ki // 2}, or a larger kernel_size", param="padding",
            )


def window_output(n: Dim, k: int, s: int, p: int, d: int, ceil_mode: bool) -> tuple[Dim, int]:
    """Output size of one sliding-window dim, and the least input size giving out >= 1.

    Exact for ``p <= k//2`` (torch rejects the rest): see the module docstring.
    """
    eff = d * (k - 1) + 1
    c = 2 * p - eff
    if ceil_mode:
        c = min(c + s - 1, p - 1)
    return norm(floordiv(norm(n + c), s) + 1), -c


def _sliding(ctx: RuleCtx, x: Shape, n: int, k: Sequence[int], s: Sequence[int], p: Sequence[int],
             d: Sequence[int], ceil_mode: bool, full_kernel: bool) -> Shape:
    """The shared rule of MaxPool / AvgPool / LPPool, once the arguments are normalised."""
    _layout(ctx, x, n)
    _check_padding(ctx, k, p)
    _nonempty(ctx, x[-n - 1], "channel dim C")
    out = []
    for i in range(n):
        size, axis = x[-n + i], _AXES[n][i]
        o, least = window_output(size, k[i], s[i], p[i], d[i], ceil_mode)
        if full_kernel:
            # avg_pool3d checks the input against the kernel before any padding; this also
            # implies out >= 1 (least <= k always).
            ctx.require(
                ge(size, k[i]), "kernel-too-large",
                f"needs input {axis} >= kernel_size={k[i]} (avg_pool3d checks this before padding), "
                f"but it is {fmt(size)}",
                hint=f"use an input with {axis} >= {k[i]}, or a smaller kernel_size", show=size,
            )
        elif least >= 2:
            detail = f"kernel_size={k[i]}, stride={s[i]}, padding={p[i]}" + (f", dilation={d[i]}" if d[i] != 1 else "")
            detail += ", ceil_mode=True" if ceil_mode else ""
            ctx.require(
                ge(size, least), "kernel-too-large",
                f"needs input {axis} >= {least} ({detail}) for a non-empty output, but it is {fmt(size)}",
                hint=f"use an input with {axis} >= {least}, or a smaller kernel_size, or more padding",
                show=size,
            )
        else:
            _nonempty(ctx, size, f"input {axis}")
        out.append(o)
    return (*x[:-n], *out)


def _stride(a: dict[str, Any]) -> tuple[int, ...]:
    s: tuple[int, ...] = a["stride"] if a["stride"] is not None else a["kernel_size"]
    return s


# --------------------------------------------------------------------------- MaxPool / AvgPool / LPPool


def _max_params(n: int, functional: bool) -> tuple[Param, ...]:
    head = (
        Param("kernel_size", _ints(n, 1), solvable=True),
        Param("stride", opt_t(_stride_t(n)), None, solvable=True),
        Param("padding", _ints(n, 0), 0, solvable=True),
        Param("dilation", _ints(n, 1), 1, solvable=True),
    )
    if functional:  # F.max_pool*d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
        return (*head, Param("ceil_mode", bool_t, False), Param("return_indices", bool_t, False))
    return (*head, Param("return_indices", bool_t, False), Param("ceil_mode", bool_t, False))


def _avg_params(n: int) -> tuple[Param, ...]:
    params = (
        Param("kernel_size", _ints(n, 1), solvable=True),
        Param("stride", opt_t(_stride_t(n)), None, solvable=True),
        Param("padding", _ints(n, 0), 0, solvable=True),
        Param("ceil_mode", bool_t, False),
        Param("count_include_pad", bool_t, True),
    )
    if n == 1:  # AvgPool1d / avg_pool1d have no divisor_override
        return params
    return (*params, Param("divisor_override", opt_t(_any_int), None))


def _lp_params(n: int) -> tuple[Param, ...]:
    # lp_pool1d multiplies by kernel_size, so torch only takes a plain int there.
    kernel = int_t(1) if n == 1 else ints_t(n, 1)
    return (
        Param("norm_type", float_t()),
        Param("kernel_size", kernel, solvable=True),
        Param("stride", opt_t(_stride_t(n)), None, solvable=True),
        Param("ceil_mode", bool_t, False),
    )


def _max_rule(n: int) -> Callable[[RuleCtx, list[Shape], dict[str, Any]], Shape]:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        return _sliding(ctx, xs[0], n, a["kernel_size"], _stride(a), a["padding"], a["dilation"], a["ceil_mode"],
                        full_kernel=False)

    rule.__doc__ = f"MaxPool{n}d: (N, C, {', '.join(_AXES[n])}) -> (N, C, ...), sliding max windows"
    return rule


def _avg_rule(n: int) -> Callable[[RuleCtx, list[Shape], dict[str, Any]], Shape]:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        if a.get("divisor_override") == 0:
            ctx.fail("divisor", "divisor_override=0: torch refuses to divide by zero",
                     hint="remove divisor_override or make it non-zero", param="divisor_override")
        k = a["kernel_size"]
        return _sliding(ctx, xs[0], n, k, _stride(a), a["padding"], (1,) * n, a["ceil_mode"], full_kernel=n == 3)

    rule.__doc__ = f"AvgPool{n}d: (N, C, {', '.join(_AXES[n])}) -> (N, C, ...), sliding average windows"
    return rule


def _lp_rule(n: int) -> Callable[[RuleCtx, list[Shape], dict[str, Any]], Shape]:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        if a["norm_type"] == 0:
            ctx.fail("norm-type", "norm_type=0: torch computes x ** (1 / norm_type) and divides by zero",
                     hint="use a non-zero norm_type (2 for an L2 pool)", param="norm_type")
        k = a["kernel_size"]
        k = (k,) if isinstance(k, int) else k
        s = a["stride"] if a["stride"] is not None else k
        return _sliding(ctx, xs[0], n, k, s, (0,) * n, (1,) * n, a["ceil_mode"], full_kernel=n == 3)

    rule.__doc__ = f"LPPool{n}d: (N, C, {', '.join(_AXES[n])}) -> (N, C, ...), power-average pooling (avg_pool{n}d)"
    return rule


# --------------------------------------------------------------------------- adaptive pools


def _adaptive_rule(n: int, kind: str) -> Callable[[RuleCtx, list[Shape], dict[str, Any]], Shape]:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        x = xs[0]
        _layout(ctx, x, n)
        spatial = x[-n:]
        out: list[Dim] = []
        for i, o in enumerate(a["output_size"]):
            if o is None:
                out.append(spatial[i])
                continue
            if not isinstance(o, int) and not o.is_nonnegative:
                ctx.require(ge(o, 0), "output-size", f"output_size {fmt(o)} is negative", show=o, param="output_size")
            out.append(o)
        # The dims torch checks for emptiness (tensor dims 1.. or the spatial dims only).
        if kind == "avg" and n < 3:
            checked = [(d, f"input {ax}") for d, ax in zip(spatial, _AXES[n], strict=True)]
        else:
            names = (["C"] if len(x) == n + 2 else []) + list(_AXES[n])
            checked = [(d, f"input {nm}") for d, nm in zip(x[1:], names, strict=True)]
        checked = [(d, w) for d, w in checked if not _surely_positive(d)]
        if checked:
            fixed = [o for o, given in zip(out, a["output_size"], strict=True) if given is not None]
            mean_path_possible = kind == "avg" and not any(isinstance(o, int) and o != 1 for o in fixed)
            if not mean_path_possible:
                for d, what in checked:
                    _nonempty(ctx, d, what)
            else:
                # adaptive_avg_pool with every output size 1 is a plain mean, checking nothing.
                # Valid iff (all checked dims >= 1) or (sum (o_i - 1)^2 == 0); with naturals that is
                # P*S >= S for P = prod(checked dims), S = sum (o_i - 1)^2.
                S = norm(sum((sympy.Integer(1) * (o - 1) ** 2 for o in out), sympy.Integer(0)))
                if isinstance(S, int) and S > 0:
                    for d, what in checked:
                        _nonempty(ctx, d, what)
                elif S != 0:
                    P = prod(d for d, _ in checked)
                    ctx.require(
                        ge(norm(sympy.expand(P * S)), S), "empty",
                        f"needs non-empty {', '.join(w for _, w in checked)} unless every output size is 1 "
                        f"(got {', '.join(fmt(d) for d, _ in checked)})",
                        hint="torch's adaptive_avg_pool rejects empty inputs except for a 1x1 output",
                    )
        return (*x[:-n], *out)

    name = f"Adaptive{kind.capitalize()}Pool{n}d"
    rule.__doc__ = f"{name}: (N, C, {', '.join(_AXES[n])}) -> (N, C, *output_size), None keeps a dim"
    return rule


def _adaptive_params(n: int, kind: str) -> tuple[Param, ...]:
    size = Param("output_size", _output_size_t(n), solvable=True)
    if kind == "avg":
        return (size,)
    return (size, Param("return_indices", bool_t, False))


# --------------------------------------------------------------------------- registration

for _n in (1, 2, 3):
    op(f"MaxPool{_n}d", *_max_params(_n, functional=False))(_max_rule(_n))
    op(f"max_pool{_n}d", *_max_params(_n, functional=True), torch_name=f"F.max_pool{_n}d")(_max_rule(_n))
    op(f"AvgPool{_n}d", *_avg_params(_n))(_avg_rule(_n))
    op(f"avg_pool{_n}d", *_avg_params(_n), torch_name=f"F.avg_pool{_n}d")(_avg_rule(_n))
    op(f"LPPool{_n}d", *_lp_params(_n))(_lp_rule(_n))
    op(f"lp_pool{_n}d", *_lp_params(_n), torch_name=f"F.lp_pool{_n}d")(_lp_rule(_n))
    for _kind in ("avg", "max"):
        _K = _kind.capitalize()
        op(f"Adaptive{_K}Pool{_n}d", *_adaptive_params(_n, _kind))(_adaptive_rule(_n, _kind))
        op(f"adaptive_{_kind}_pool{_n}d", *_adaptive_params(_n, _kind),
           torch_name=f"F.adaptive_{_kind}_pool{_n}d")(_adaptive_rule(_n, _kind))
    # F.max_pool*d(..., return_indices=True) calls these: (values, indices) of one shape
    op(f"max_pool{_n}d_with_indices", *_max_params(_n, functional=True), PAIR_ITEM,
       torch_name=f"F.max_pool{_n}d_with_indices", output_index=0, paired=True)(_max_rule(_n))
    op(f"adaptive_max_pool{_n}d_with_indices", *_adaptive_params(_n, "max"), PAIR_ITEM,
       torch_name=f"F.adaptive_max_pool{_n}d_with_indices", output_index=0, paired=True)(
        _adaptive_rule(_n, "max"))
