"""Reductions: mean, sum, nanmean, nansum, amax, amin, prod, logsumexp, std, var, var_mean /
std_mean (torch returns (var, mean), of one shape: the op's output is the first), norm /
linalg.vector_norm, any / all (``dim=[]`` reduces nothing there), diff, and max / min
(global, or elementwise on two tensors).

``dim`` is an int, a list of ints, or None (every dim); an empty list also reduces every dim
(torch's legacy reading).  ``keepdim`` keeps the reduced dims as 1.  A 0-d input gives a 0-d
output, whatever ``keepdim`` says.  torch's checks, reproduced here:

- a dim named twice is an error, as is a dim out of range (0-d inputs accept 0 and -1);
- amax / amin / max / min reduce nothing empty: each reduced dim must be >= 1 (when every dim
  is reduced: every dim, i.e. a non-empty input);
- ``torch.mean(x, keepdim=True)`` / ``sum`` / ``prod`` without ``dim`` match no overload
  (``dim: []`` reduces every dim and keeps them);
- ``logsumexp(x, dim=[])`` without ``keepdim`` on a non-empty input of rank >= 1 fails inside
  torch (its max and sum disagree in shape): valid only when the input is empty;
- std / var take ``unbiased`` (legacy) or ``correction``, not both; ``unbiased`` with
  ``keepdim`` needs ``dim``;
- norm / vector_norm with a negative or infinite order have no identity: every reduced dim
  must be non-empty (``dim: None`` reduces every dim; with keepdim every dim is kept as 1);
- diff(n, dim, prepend, append): at least 1-D, ``n >= 0``; prepend / append (tensors, in
  that order in ``from``) match the input but along dim, which grows by their sizes and then
  shrinks by n, to 0 at least; n=0 returns the input as it is (dim unchecked without
  prepend / append).

``max`` / ``min`` with ``dim`` return (values, indices) in torch; shapeplan supports their
global form ``torch.max(x)`` and the elementwise form ``torch.max(x, y)`` (= maximum); use
``amax`` / ``amin`` for a reduction over some dims.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.conditions import eq, ge
from ..core.dims import Dim, Shape, dmax, fmt, fmt_shape, norm, prod
from .ctx import RuleCtx
from .merge import broadcast_shapes, same, surely_positive
from .params import (
    FLOATING_DTYPES,
    bool_t,
    canonical_dtype,
    dtype_t,
    float_t,
    int_list_t,
    int_t,
    opt_t,
    schema_of,
    union_t,
    with_schema,
)
from .registry import Param, norm_dim, op

_INT = int_t(None)


def _dims_t(v: Any) -> int | tuple[int, ...]:
    """An int (kept as an int, as written) or a list of ints."""
    if isinstance(v, (list, tuple)):
        out: tuple[int, ...] = int_list_t()(v)
        return out
    n: int = _INT(v)
    return n


_dims_t.__name__ = "int or list of ints"
with_schema(_dims_t, {"anyOf": [schema_of(_INT), schema_of(int_list_t())]})


def reduced(ctx: RuleCtx, x: Shape, dim: int | tuple[int, ...] | None) -> list[int]:
    """The dims that ``dim`` reduces, wrapped and checked as torch does (None / [] -> all)."""
    if dim is None:
        return list(range(len(x)))
    dims = (dim,) if isinstance(dim, int) else dim
    if dims and len(x) > 64:  # torch's dim_list_to_bitset
        ctx.fail("rank", f"reduces dims of a {len(x)}-D tensor: torch's reductions over given dims support "
                         "up to 64 dims", param="dim")
    wrapped = [norm_dim(d, len(x), ctx) for d in dims]
    seen: set[int] = set()
    for w in wrapped:
        if w in seen:
            ctx.fail("dim", f"names dim {w} more than once (dim={dim})", hint="list each dim once", param="dim")
        seen.add(w)
    if not dims:
        return list(range(len(x)))
    return wrapped if x else []


def reduce_shape(x: Shape, dims: list[int], keepdim: bool) -> Shape:
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(x))
    return tuple(s for i, s in enumerate(x) if i not in dims)


def _require_nonempty(ctx: RuleCtx, x: Shape, dims: list[int], name: str) -> None:
    for i in dims:
        s = x[i]
        if surely_positive(s):
            continue
        ctx.require(ge(s, 1), "empty-reduction",
                    f"cannot take {name} over dim {i} of {fmt_shape(x)}: it is empty (size {fmt(s)})",
                    hint=f"{name} has no identity for empty dims; make dim {i} >= 1", show=s, param="dim")


def _needs_dim(ctx: RuleCtx, a: dict[str, Any], name: str) -> None:
    if a["dim"] is None and a["keepdim"]:
        ctx.fail("keepdim", f"needs dim when keepdim is true (torch.{name}(x, keepdim=True) matches no overload)",
                 hint="give dim: [] to reduce every dim and keep them as 1", param="dim")


def _reduction(name: str, *, needs_dim: bool = False, nonempty: bool = False) -> Callable[..., Shape]:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        x = xs[0]
        if "mean" in name and a.get("dtype") and canonical_dtype(a["dtype"]) not in FLOATING_DTYPES:
            ctx.fail("dtype", f"{name} computes in a floating point or complex dtype, got dtype={a['dtype']}",
                     param="dtype")
        if needs_dim:
            _needs_dim(ctx, a, name)
        dims = reduced(ctx, x, a["dim"])
        if nonempty:
            _require_nonempty(ctx, x, dims, name)
        return reduce_shape(x, dims, a["keepdim"])

    rule.__doc__ = f"torch.{name}(input, dim, keepdim=False): the reduced dims are dropped (or kept as 1)."
    return rule


_KEEPDIM = Param("keepdim", bool_t, False)

_DTYPE = Param("dtype", opt_t(dtype_t), None, kw_only=True)  # the output's element type
for _name in ("mean", "sum"):
    op(_name, Param("dim", opt_t(_dims_t), None), _KEEPDIM, _DTYPE)(_reduction(_name, needs_dim=True))
for _name in ("nanmean", "nansum"):
    op(_name, Param("dim", opt_t(_dims_t), None), _KEEPDIM, _DTYPE)(_reduction(_name))
for _name in ("amax", "amin"):
    op(_name, Param("dim", _dims_t, ()), _KEEPDIM)(_reduction(_name, nonempty=True))


@op("prod", Param("dim", opt_t(_INT), None), _KEEPDIM, _DTYPE)
def prod_(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.prod(input, dim=None, keepdim=False): one dim (an int), or every dim."""
    _needs_dim(ctx, a, "prod")
    return reduce_shape(xs[0], reduced(ctx, xs[0], a["dim"]), a["keepdim"])


@op("logsumexp", Param("dim", _dims_t), _KEEPDIM)
def logsumexp(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.logsumexp(input, dim, keepdim=False)."""
    x = xs[0]
    dims = reduced(ctx, x, a["dim"])
    if a["dim"] == () and not a["keepdim"] and x:
        numel: Dim = prod(x)
        msg = (f"with dim=[] and keepdim=False fails in torch on a non-empty input of rank >= 1 "
               f"({fmt_shape(x)})")
        hint = "list the dims to reduce, or set keepdim: true"
        if surely_positive(numel):
            ctx.fail("logsumexp-all", msg, hint=hint, param="dim")
        ctx.require(eq(numel, 0), "logsumexp-all", msg, hint=hint, show=numel, param="dim")
    return reduce_shape(x, dims, a["keepdim"])


def _moments(name: str) -> Callable[..., Shape]:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        x = xs[0]
        if isinstance(a["dim"], bool):  # torch.std(x, True): the overload std(input, unbiased)
            if a["unbiased"] is not None:
                ctx.fail("bad-argument", "takes a bool dim only as unbiased (torch.std(x, True))", param="dim")
            a = {**a, "unbiased": a["dim"], "dim": None}
        if a["unbiased"] is not None and a["correction"] is not None:
            ctx.fail("bad-argument", "takes unbiased or correction, not both",
                     hint="use correction (unbiased=True is correction=1, unbiased=False is correction=0)",
                     param="unbiased")
        if a["unbiased"] is not None and a["dim"] is None and a["keepdim"]:
            ctx.fail("keepdim", f"needs dim with unbiased and keepdim (torch.{name}(x, unbiased=..., "
                                "keepdim=True) matches no overload)",
                     hint="give dim: [] to reduce every dim, or use correction instead of unbiased", param="dim")
        return reduce_shape(x, reduced(ctx, x, a["dim"]), a["keepdim"])

    rule.__doc__ = f"torch.{name}(input, dim=None, unbiased, keepdim=False, *, correction=1): shaped like mean."
    return rule


for _name in ("std", "var"):
    op(_name, Param("dim", opt_t(union_t(bool_t, _dims_t)), None), Param("unbiased", opt_t(bool_t), None), _KEEPDIM,
       Param("correction", opt_t(float_t()), None))(_moments(_name))


def _extreme(name: str) -> Callable[..., Shape]:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        if len(xs) == 2:
            if a["dim"] is not None or a["keepdim"]:
                ctx.fail("args", f"torch.{name}(input, other) takes no dim or keepdim", param="dim")
            return broadcast_shapes(ctx, xs)
        x = xs[0]
        if a["dim"] is None:
            if a["keepdim"]:
                _needs_dim(ctx, a, name)
            _require_nonempty(ctx, x, list(range(len(x))), name)
            return ()
        dims = reduced(ctx, x, a["dim"])
        _require_nonempty(ctx, x, dims, name)
        return reduce_shape(x, dims, a["keepdim"])

    rule.__doc__ = (f"torch.{name}(input) -> a 0-d tensor; torch.{name}(input, dim, keepdim=False) -> the values "
                    f"(emitted code takes [0] of torch's (values, indices)); torch.{name}(input, other): elementwise, "
                    "broadcast.")
    return rule


for _name in ("max", "min"):
    op(_name, Param("dim", opt_t(_INT), None), _KEEPDIM, n_inputs=(1, 2))(_extreme(_name))


for _name in ("var_mean", "std_mean"):  # torch returns (var, mean): both of this shape; emitted code takes [0]
    op(_name, Param("dim", opt_t(union_t(bool_t, _dims_t)), None), Param("unbiased", opt_t(bool_t), None),
       _KEEPDIM, Param("correction", opt_t(float_t()), None), output_index=0, paired=True)(_moments(_name))




def _any_all(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.any / torch.all(input, dim=None, keepdim=False): dims reduced (dim=[] reduces none)."""
    x, dim = xs[0], a["dim"]
    if dim == ():
        return x
    dims = reduced(ctx, x, dim)
    return reduce_shape(x, dims, a["keepdim"])


for _name in ("any", "all"):
    op(_name, Param("dim", opt_t(_dims_t), None), _KEEPDIM)(_any_all)


@op("diff", Param("n", _INT, 1), Param("dim", _INT, -1), n_inputs=(1, 3), input_names=("input", "prepend", "append"))
def diff(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.diff(input, n=1, dim=-1, prepend=None, append=None): dim shrinks by n (to 0 at least)."""
    x, n = xs[0], a["n"]
    if not x:
        ctx.fail("rank", "diff expects an input of at least one dim")
    if n < 0:
        ctx.fail("args", f"order must be non-negative, got n={n}", param="n")
    extra = xs[1:]
    d = norm_dim(a["dim"], len(x), ctx) if extra or n else 0
    length: Dim = x[d]
    for name, t in zip(("prepend", "append"), extra):
        if len(t) != len(x):
            ctx.fail("rank", f"{name} {fmt_shape(t)} must have as many dims as the input {fmt_shape(x)}")
        for i, (s, u) in enumerate(zip(x, t)):
            if i != d and not same(s, u):
                ctx.require(eq(u, s), "diff", f"{name} {fmt_shape(t)} must match the input {fmt_shape(x)} but along "
                            f"dim {d} (they differ at dim {i})", show=norm(u - s))
        length = norm(length + t[d])
    if n == 0:
        return x  # torch returns a clone of the input (prepend / append ignored)
    out = norm(length - n)
    if isinstance(out, int) or not out.is_nonnegative:
        out = dmax(out, 0)
    return (*x[:d], out, *x[d + 1:])
