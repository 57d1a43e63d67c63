"""More matrix products: addmm, baddbmm, addbmm, addmv, addr (a product plus an input that
expands to its shape), mv, outer, dot.  (matmul, mm and bmm are in merge.py.)

torch's checks: the factors' ranks (mat 2-D, batch 3-D, vec 1-D), equal inner sizes, equal
batch counts (baddbmm, addbmm: no broadcasting of the batch), and the added ``input`` expands to
the product's shape (it may have fewer dims, or 1s, but never makes the result grow).  As for
broadcasting, a symbolic size that may be 1 is a case of its own.  addmv is its own: input
0-D or 1-D with 1 or n elements; an empty mat gives the input's shape (torch resizes the
output to it).
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import eq
from ..core.dims import Dim, Shape, fmt, fmt_shape, norm, prod
from .compare import expand_to
from .ctx import RuleCtx
from .merge import same, surely_positive
from .params import scalar_t
from .registry import Param, op

_SCALES = (Param("beta", scalar_t, 1, kw_only=True), Param("alpha", scalar_t, 1, kw_only=True))


def _ranks(ctx: RuleCtx, xs: list[Shape], ranks: tuple[int, ...], names: tuple[str, ...]) -> None:
    for x, r, name in zip(xs, ranks, names):
        if len(x) != r:
            ctx.fail("rank", f"{name} must be {r}-D, got {len(x)}-D {fmt_shape(x)}")


def _equal(ctx: RuleCtx, a: Dim, b: Dim, code: str, message: str) -> None:
    if not same(a, b):
        ctx.require(eq(a, b), code, message, show=norm(a - b))


def _inner(ctx: RuleCtx, x1: Shape, x2: Shape, k1: Dim, k2: Dim) -> None:
    _equal(ctx, k1, k2, "matmul-inner", f"cannot multiply {fmt_shape(x1)} by {fmt_shape(x2)}: inner sizes "
                                        f"{fmt(k1)} and {fmt(k2)} differ")


@op("addmm", *_SCALES, n_inputs=(3, 3))
def addmm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.addmm(input, mat1, mat2): input + mat1 @ mat2, (n, m) @ (m, p) -> (n, p)."""
    x, m1, m2 = xs
    _ranks(ctx, [m1, m2], (2, 2), ("mat1", "mat2"))
    _inner(ctx, m1, m2, m1[1], m2[0])
    return expand_to(ctx, x, (m1[0], m2[1]), "input")


@op("baddbmm", *_SCALES, n_inputs=(3, 3))
def baddbmm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.baddbmm(input, batch1, batch2): input + batch1 @ batch2, (b, n, m) @ (b, m, p) -> (b, n, p)."""
    x, b1, b2 = xs
    _ranks(ctx, [b1, b2], (3, 3), ("batch1", "batch2"))
    _equal(ctx, b1[0], b2[0], "bmm-batch", f"batch1 {fmt_shape(b1)} and batch2 {fmt_shape(b2)} must have as "
                                           "many batches (no broadcasting)")
    _inner(ctx, b1, b2, b1[2], b2[1])
    return expand_to(ctx, x, (b1[0], b1[1], b2[2]), "input")


@op("addbmm", *_SCALES, n_inputs=(3, 3))
def addbmm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.addbmm(input, batch1, batch2): input + the sum over the batch of batch1 @ batch2 -> (n, p)."""
    x, b1, b2 = xs
    _ranks(ctx, [b1, b2], (3, 3), ("batch1", "batch2"))
    _equal(ctx, b1[0], b2[0], "bmm-batch", f"batch1 {fmt_shape(b1)} and batch2 {fmt_shape(b2)} must have as "
                                           "many batches")
    _inner(ctx, b1, b2, b1[2], b2[1])
    return expand_to(ctx, x, (b1[1], b2[2]), "input")


@op("addmv", *_SCALES, n_inputs=(3, 3))
def addmv(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.addmv(input, mat, vec): input + mat @ vec, (n, m) @ (m,) -> (n,)."""
    x, m, v = xs
    _ranks(ctx, [m, v], (2, 1), ("mat", "vec"))
    if len(x) > 1:
        ctx.fail("rank", f"input must be 0-D or 1-D, got {fmt_shape(x)}")
    _inner(ctx, m, v, m[1], v[0])
    numel = prod(x)
    if not (same(numel, m[0]) or ctx.decide(eq(numel, m[0]), prefer=True) or ctx.decide(eq(numel, 1), prefer=False)):
        _equal(ctx, numel, m[0], "addmv", f"input {fmt_shape(x)} must have 1 or {fmt(m[0])} elements (the rows of "
                                          f"mat {fmt_shape(m)})")
    if any(not surely_positive(d) and ctx.decide(eq(d, 0), prefer=False) for d in m):
        return x  # torch resizes the output to the input's shape when mat is empty
    return (m[0],)


@op("addr", *_SCALES, n_inputs=(3, 3))
def addr(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.addr(input, vec1, vec2): input + the outer product, (n,) x (m,) -> (n, m)."""
    x, v1, v2 = xs
    _ranks(ctx, [v1, v2], (1, 1), ("vec1", "vec2"))
    return expand_to(ctx, x, (v1[0], v2[0]), "input")


@op("mv", n_inputs=(2, 2))
def mv(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.mv(input, vec): (n, m) @ (m,) -> (n,)."""
    m, v = xs
    _ranks(ctx, [m, v], (2, 1), ("input", "vec"))
    _inner(ctx, m, v, m[1], v[0])
    return (m[0],)


@op("outer", n_inputs=(2, 2), aliases=("ger",))
def outer(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.outer(input, vec2): (n,) x (m,) -> (n, m)."""
    _ranks(ctx, xs, (1, 1), ("input", "vec2"))
    return (xs[0][0], xs[1][0])


@op("dot", n_inputs=(2, 2), aliases=("vdot",))
def dot(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.dot(input, tensor): two 1-D tensors of one size -> a 0-d tensor."""
    _ranks(ctx, xs, (1, 1), ("input", "tensor"))
    _inner(ctx, xs[0], xs[1], xs[0][0], xs[1][0])
    return ()


PRODUCTS = ("addmm", "baddbmm", "addbmm", "addmv", "addr", "mv", "outer", "ger", "dot", "vdot")
