"""Ops that read several tensors: elementwise arithmetic with broadcasting (add, sub, mul, div,
maximum, minimum), cat / stack, and the matrix products (matmul, mm, bmm).

Broadcasting (NumPy's rule, as torch's ``infer_size``): shapes are aligned on the right; a
pair of sizes ``(a, b)`` is fine when ``a == b`` or either is 1, and the result is the
non-1 size.  A symbolic size that may be 1 is a question for the analysis
(:meth:`RuleCtx.decide`): the sizes where it is 1 are a case of their own, with the output
torch gives there, and elsewhere the pair must be equal.  So ``(N, 3, H, W) + (N, 3, 5, 5)``
is valid where ``H == 5`` and where ``H == 1`` (output ``(N, 3, 5, W)``...), exactly as torch.

cat follows ``torch.cat``: ranks equal, every dim but ``dim`` equal, no 0-d tensors.  torch's
legacy rule that skips 1-D empty tensors (shape ``(0,)``) is modelled for concrete shapes;
a 1-D input whose symbolic size may be 0 is required to be non-empty (the same "valid means
exact" reading as above).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from ..core.conditions import eq
from ..core.dims import Dim, Shape, fmt, fmt_shape, norm
from .ctx import RuleCtx
from .params import MAX_INT, choice_t, dim_t, float_t, int_t, opt_t, schema_of, with_schema
from .registry import Param, norm_dim, op

# --------------------------------------------------------------------------- broadcasting


def same(a: Dim, b: Dim) -> bool:
    """Structurally equal sizes (surely equal at every input size)."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if a == b:  # the same tree (sympy's == is structural): no algebra needed
        return True
    return norm(sympy.expand(sympy.sympify(a) - b)) == 0


def surely_positive(d: Dim) -> bool:
    if isinstance(d, int):
        return d > 0
    return bool(d.is_positive)


def broadcast_pair(ctx: RuleCtx, a: Dim, b: Dim, where: str, hint: str | None = None) -> Dim:
    """The broadcast of two sizes, as torch computes it: a size of 1 takes the other (a
    symbolic size that may be 1 splits the analysis into that case and the rest)."""
    if same(a, b) or (isinstance(b, int) and b == 1):
        return a
    if isinstance(a, int) and a == 1:
        return b
    if ctx.decide(eq(a, b), prefer=True):  # equal as functions of the size, or where they are equal
        return a
    if ctx.decide(eq(a, 1), prefer=False):
        return b
    if ctx.decide(eq(b, 1), prefer=False):
        return a
    ctx.require(
        eq(a, b), "broadcast",
        f"cannot broadcast {where}: sizes {fmt(a)} and {fmt(b)} differ and neither is 1",
        hint=hint or "broadcast sizes must be equal, or one of them 1",
        show=norm(a - b),
    )
    return b if isinstance(b, int) else a


def broadcast_shapes(ctx: RuleCtx, shapes: Sequence[Shape], what: str = "the inputs") -> Shape:
    """torch's ``infer_size`` over several shapes."""
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    shown = " and ".join(fmt_shape(s) for s in shapes)
    for i in range(rank):
        k = rank - 1 - i  # index from the right
        acc: Dim | None = None
        for s in shapes:
            j = len(s) - rank + i
            if j < 0:
                continue
            acc = s[j] if acc is None else broadcast_pair(ctx, acc, s[j], f"{what} {shown} at dim {i} (-{k + 1})")
        assert acc is not None
        out.append(norm(acc))
    return tuple(out)


# --------------------------------------------------------------------------- elementwise


# A tensor and a second operand (`other`, or the one named `key`): a tensor (the shapes broadcast)
# or a number (the tensor's shape).  No docstring: the ops registered with it as their rule
# (torch.eq, ...) describe themselves by their signature.
def binary(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any], key: str = "other") -> Shape:
    other = a.get(key)
    if len(xs) == 2:
        if other is not None:
            ctx.fail("arity", f"got a second tensor in `from` and a scalar `{key}`; give one of them",
                     hint=f"drop `{key}`, or read one tensor", param=key)
        return broadcast_shapes(ctx, xs)
    if other is None:
        ctx.fail("arity", f"needs a second operand: list two tensors in `from`, or give a scalar `{key}`",
                 param=key)
    return xs[0]


_NUMBER = float_t()


_SIZE = dim_t(allow_minus_one=True, minimum=-MAX_INT)


def _operand_t(v: Any) -> Any:
    """A scalar operand: a number, or a size formula (``x * (H // 8)``, ``x / W``, written
    ``other: H // 8``: a number at every size, so the output is shaped like the tensor)."""
    if isinstance(v, (str, sympy.Expr)):
        return _SIZE(v)
    return _NUMBER(v)


_operand_t.__name__ = "number or size formula"
with_schema(_operand_t, {"anyOf": [schema_of(_NUMBER) or {"type": "number"}, {"type": "string"}]})


@op("add", Param("other", opt_t(_operand_t), None), Param("alpha", _NUMBER, 1), n_inputs=(1, 2))
def add(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.add(input, other, alpha=1): the broadcast shape of the inputs."""
    return binary(ctx, xs, a)


@op("sub", Param("other", opt_t(_operand_t), None), Param("alpha", _NUMBER, 1), n_inputs=(1, 2), aliases=("subtract",))
def sub(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.sub(input, other, alpha=1): the broadcast shape of the inputs."""
    return binary(ctx, xs, a)


@op("mul", Param("other", opt_t(_operand_t), None), n_inputs=(1, 2), aliases=("multiply",))
def mul(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.mul(input, other): the broadcast shape of the inputs."""
    return binary(ctx, xs, a)


@op("div", Param("other", opt_t(_operand_t), None), Param("rounding_mode", opt_t(choice_t("trunc", "floor")), None),
    n_inputs=(1, 2), aliases=("divide",))
def div(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.div(input, other, rounding_mode=None): the broadcast shape of the inputs."""
    return binary(ctx, xs, a)


@op("maximum", n_inputs=(2, 2), aliases=("minimum",))
def maximum(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.maximum / torch.minimum(input, other): the broadcast shape of the inputs."""
    return broadcast_shapes(ctx, xs)


# --------------------------------------------------------------------------- cat / stack


@op("cat", Param("dim", int_t(None), 0), n_inputs=(1, None), call_style="list", aliases=("concat", "concatenate"))
def cat(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.cat(tensors, dim=0): the sizes along ``dim`` add up; every other dim must match."""
    for i, x in enumerate(xs):
        if len(x) == 0:
            ctx.fail("rank", f"cannot concatenate the zero-dimensional tensor at position {i}",
                     hint="unsqueeze it first (torch.stack adds a dim for you)")
    # torch skips 1-D empty tensors (a legacy rule); a symbolic 1-D size that may be 0 is a case
    kept = []
    for i, x in enumerate(xs):
        if len(x) == 1 and isinstance(x[0], int) and x[0] == 0:
            continue
        if len(x) == 1 and not surely_positive(x[0]) and ctx.decide(eq(x[0], 0), prefer=False):
            continue  # torch.cat skips a 1-D empty tensor (a case of its own)
        kept.append((i, x))
    if not kept:
        return (0,)
    i0, ref = kept[0]
    d = norm_dim(a["dim"], len(ref), ctx)
    total: Dim = 0
    for i, x in kept:
        if len(x) != len(ref):
            ctx.fail("rank", f"inputs must have the same number of dims, got {len(ref)}D {fmt_shape(ref)} "
                             f"(input {i0}) and {len(x)}D {fmt_shape(x)} (input {i})")
        for j, (u, v) in enumerate(zip(ref, x, strict=True)):
            if j == d or same(u, v):
                continue
            ctx.require(
                eq(v, u), "cat-mismatch",
                f"inputs must match in every dim but dim {d}: input {i0} {fmt_shape(ref)} and input {i} "
                f"{fmt_shape(x)} differ at dim {j} ({fmt(u)} vs {fmt(v)})",
                hint=f"concatenate along dim {j}, or make the other sizes equal", show=norm(u - v),
            )
        total = norm(total + x[d])
    return (*ref[:d], total, *ref[d + 1:])


@op("stack", Param("dim", int_t(None), 0), n_inputs=(1, None), call_style="list")
def stack(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.stack(tensors, dim=0): equal shapes; a new dim of size len(tensors) at ``dim``."""
    ref = xs[0]
    d = norm_dim(a["dim"], len(ref) + 1, ctx)
    for i, x in enumerate(xs[1:], 1):
        if len(x) != len(ref):
            ctx.fail("rank", f"expects tensors of equal size, got {fmt_shape(ref)} (input 0) and {fmt_shape(x)} "
                             f"(input {i})")
        for j, (u, v) in enumerate(zip(ref, x, strict=True)):
            if not same(u, v):
                ctx.require(eq(v, u), "stack-mismatch",
                            f"expects tensors of equal size, got {fmt_shape(ref)} (input 0) and {fmt_shape(x)} "
                            f"(input {i}), which differ at dim {j}",
                            hint="stack needs identical shapes (torch.cat joins along an existing dim)",
                            show=norm(u - v))
    return (*ref[:d], len(xs), *ref[d:])


# --------------------------------------------------------------------------- matrix products


def _inner(ctx: RuleCtx, k1: Dim, k2: Dim, x1: Shape, x2: Shape) -> None:
    if same(k1, k2):
        return
    ctx.require(eq(k1, k2), "matmul-inner",
                f"cannot multiply {fmt_shape(x1)} by {fmt_shape(x2)}: inner sizes {fmt(k1)} and {fmt(k2)} differ",
                hint="the last dim of the first operand must equal the second-to-last (or only) dim of the second",
                show=norm(k1 - k2))


@op("matmul", n_inputs=(2, 2))
def matmul(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.matmul(input, other): dot, matrix-vector, matrix product, batched with broadcasting."""
    x1, x2 = xs
    if not x1 or not x2:
        ctx.fail("rank", f"needs both operands at least 1D, got {fmt_shape(x1)} and {fmt_shape(x2)}")
    k1 = x1[-1]
    k2 = x2[-2] if len(x2) >= 2 else x2[0]
    _inner(ctx, k1, k2, x1, x2)
    if len(x1) <= 2 and len(x2) <= 2:
        batch: Shape = ()
    else:
        batch = broadcast_shapes(ctx, [x1[:-2], x2[:-2]], "the batch dims of")
    rows = (x1[-2],) if len(x1) >= 2 else ()
    cols = (x2[-1],) if len(x2) >= 2 else ()
    return (*batch, *rows, *cols)


@op("mm", n_inputs=(2, 2))
def mm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.mm(input, mat2): (n, m) @ (m, p) -> (n, p)."""
    x1, x2 = xs
    if len(x1) != 2 or len(x2) != 2:
        ctx.fail("rank", f"needs two matrices (2D), got {fmt_shape(x1)} and {fmt_shape(x2)}",
                 hint="torch.matmul handles vectors and batches")
    _inner(ctx, x1[1], x2[0], x1, x2)
    return (x1[0], x2[1])


@op("bmm", n_inputs=(2, 2))
def bmm(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.bmm(input, mat2): (b, n, m) @ (b, m, p) -> (b, n, p); no broadcasting."""
    x1, x2 = xs
    if len(x1) != 3 or len(x2) != 3:
        ctx.fail("rank", f"needs two 3D batches of matrices, got {fmt_shape(x1)} and {fmt_shape(x2)}",
                 hint="torch.matmul broadcasts other ranks")
    if not same(x1[0], x2[0]):
        ctx.require(eq(x1[0], x2[0]), "bmm-batch",
                    f"needs equal batch sizes, got {fmt(x1[0])} and {fmt(x2[0])}",
                    hint="bmm does not broadcast; use torch.matmul", show=norm(x1[0] - x2[0]))
    _inner(ctx, x1[2], x2[1], x1, x2)
    return (x1[0], x1[1], x2[2])
