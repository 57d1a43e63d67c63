"""Linear and Bilinear: they act on the last dim."""

from __future__ import annotations

from typing import Any

from ..core.conditions import eq
from ..core.dims import Dim, Shape, fmt, free_symbols, norm
from .ctx import RuleCtx
from .params import bool_t, int_t
from .registry import Param, last_dim, op


def features_hint(param: str, got: Dim) -> str:
    """How to fix a feature-count mismatch: a number, or the choices when it is a formula."""
    if isinstance(got, int):
        return f"set {param}: {got} (or {param}: auto)"
    names = ", ".join(sorted(free_symbols(got)))
    return (
        f"the input has {fmt(got)} features, which depends on {names}: pin {names} in `input`, "
        f"insert an AdaptiveAvgPool before the Flatten to make it constant, or set {param}: auto"
    )


@op(
    "Linear",
    Param("in_features", int_t(0), auto=last_dim),
    Param("out_features", int_t(0), solvable=True),
    Param("bias", bool_t, True),
    param_count=lambda a: norm(a["in_features"] * a["out_features"] + (a["out_features"] if a["bias"] else 0)),
)
def linear(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*, in_features) -> (*, out_features)"""
    x = xs[0]
    ctx.rank(x, range(1, 64), "(*, in_features)")
    ctx.require(
        eq(x[-1], a["in_features"]), "in-features",
        f"expects in_features={fmt(a['in_features'])}, but its input has {fmt(x[-1])} features",
        hint=features_hint("in_features", x[-1]), show=x[-1],
    )
    return (*x[:-1], a["out_features"])


@op(
    "Bilinear",
    Param("in1_features", int_t(0), auto=last_dim),
    Param("in2_features", int_t(0), auto=lambda xs: xs[1][-1] if len(xs) > 1 and xs[1] else last_dim(xs)),
    Param("out_features", int_t(0), solvable=True),
    Param("bias", bool_t, True),
    n_inputs=(2, 2),
    param_count=lambda a: norm(
        a["in1_features"] * a["in2_features"] * a["out_features"] + (a["out_features"] if a["bias"] else 0)
    ),
)
def bilinear(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*, in1), (*, in2) -> (*, out_features); the leading dims must match exactly."""
    x1, x2 = xs
    ctx.rank(x1, range(1, 64), "(*, in1_features)")
    ctx.rank(x2, range(1, 64), "(*, in2_features)")
    if len(x1) != len(x2):
        ctx.fail("rank", f"inputs must have the same number of dims, got {len(x1)}D and {len(x2)}D")
    for i, (d1, d2) in enumerate(zip(x1[:-1], x2[:-1])):
        ctx.require(eq(d1, d2), "batch-mismatch", f"input dims {i} differ: {fmt(d1)} vs {fmt(d2)}", show=norm(d1 - d2))
    for j, (x, name) in enumerate(((x1, "in1_features"), (x2, "in2_features"))):
        ctx.require(
            eq(x[-1], a[name]), "in-features",
            f"expects {name}={fmt(a[name])}, but input {j + 1} has {fmt(x[-1])} features",
            hint=features_hint(name, x[-1]), show=x[-1],
        )
    return (*x1[:-1], a["out_features"])
