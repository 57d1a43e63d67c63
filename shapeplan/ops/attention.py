"""einsum, F.scaled_dot_product_attention and nn.MultiheadAttention.

einsum(equation, *operands), as torch parses it: subscripts are letters (spaces are ignored),
at most one ``...`` per term, one term per operand, each term naming every dim of its operand
(``...`` the ones left, right-aligned).  A letter repeated in one term takes a diagonal: its
sizes there must be equal.  Across operands a letter's sizes broadcast (equal, or 1), as do
the dims under ``...`` (right-aligned).  The output: the terms after ``->`` (each letter once,
each appearing in an input; ``...`` the broadcast ellipsis dims, summed when absent), or
implicitly the ellipsis dims and then the letters that appear exactly once, upper case
before lower case, in alphabetical order.

scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0, is_causal=False,
scale=None, enable_gqa=False): query (..., L, E), key (..., S, E), value (..., S, Ev), each at
least 2-D, no mask together with ``is_causal``.  torch 2.14 then returns early, checking
nothing more, when L is 0 or value is empty:
the output is then (*query.shape[:-1], Ev) (a symbolic L or value size that may be 0 is a
case of its own).  An attn_mask of fewer than 2 dims, or of more dims than the scores
``q @ k^T``, is reported invalid: torch accepts it or not (and may grow the output) depending
on its kernel choice.  A key and a value of different sequence lengths run where torch's CPU
picks its flash kernel (:mod:`.sdpa_kernel`: no dropout, 3-D or 4-D inputs of one batch,
heads and head dim, ...), which never compares them; its math path refuses them.  torch computes
``softmax(q @ k^T + mask) @ v``: the batch dims of q and k broadcast, then with v's; the mask
(at least 2-D) expands to (..., L, S) without growing it; with ``enable_gqa`` (3-D and more) the heads (dim -3) of key and value divide
the query's (and are not 0).  Output (..., L, Ev).

nn.MultiheadAttention(embed_dim, num_heads, dropout=0, bias=True, add_bias_kv=False,
add_zero_attn=False, kdim=None, vdim=None, batch_first=False): ``embed_dim > 0``,
``num_heads > 0`` and divides embed_dim.  forward(query, key, value): 3-D (batched, (L, N, E),
or (N, L, E) with batch_first) or 2-D (unbatched), all three the same rank; query's last dim
is embed_dim; key and value of one shape (when kdim and vdim are embed_dim), else of the same
(S, N) and last dims kdim and vdim; key's batch is query's (unless S is 0, without
add_bias_kv).  torch returns (attn_output, attn_weights): the op's output is attn_output, of
query's shape (emitted code indexes ``[0]``).  The masks (key_padding_mask=, attn_mask=,
keyword arguments of forward) are not modelled.
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import dvd, eq
from ..core.dims import Dim, Shape, fmt, fmt_shape, norm
from .compare import expand_to
from .ctx import ArgError, RuleCtx
from .merge import broadcast_pair, broadcast_shapes, same, surely_positive
from .params import bool_t, float_t, int_t, opt_t, with_schema
from .registry import Param, op
from .sdpa_kernel import uses_flash

_ELL = "..."

# --------------------------------------------------------------------------- einsum


def _equation_t(v: Any) -> str:
    if not isinstance(v, str):
        raise ArgError(f"expected an equation string such as 'ij,jk->ik', got {type(v).__name__}")
    if len(v) > 200:
        raise ArgError("equation is too long")
    return v


_equation_t.__name__ = "einsum equation"
with_schema(_equation_t, {"type": "string", "maxLength": 200})


def _term(ctx: RuleCtx, text: str, i: int | None) -> list[str]:
    """A term as a list of letters and at most one ``...``."""
    out: list[str] = []
    rest = text
    where = f"operand {i}" if i is not None else "the output"
    while rest:
        if rest.startswith(_ELL):
            if _ELL in out:
                ctx.fail("einsum", f"found more than one ellipsis ('...') for {where}", param="equation")
            out.append(_ELL)
            rest = rest[3:]
        elif rest[0] == ".":
            ctx.fail("einsum", f"found '.' for {where} that is not part of any ellipsis", param="equation")
        elif rest[0].isascii() and rest[0].isalpha():
            out.append(rest[0])
            rest = rest[1:]
        else:
            ctx.fail("einsum", f"invalid subscript {rest[0]!r}: subscripts must be in [a-zA-Z]", param="equation")
    return out


def einsum_shape(ctx: RuleCtx, equation: str, xs: list[Shape]) -> Shape:
    """The output shape of torch.einsum(equation, *xs)."""
    eq_ = equation.replace(" ", "")
    lhs, arrow, rhs = eq_.partition("->")
    terms = [_term(ctx, t, i) for i, t in enumerate(lhs.split(","))]
    if len(terms) < len(xs):
        ctx.fail("einsum", "more operands were provided than specified in the equation", param="equation")
    if len(terms) > len(xs):
        ctx.fail("einsum", "fewer operands were provided than specified in the equation", param="equation")
    sizes: dict[str, Dim] = {}
    counts: dict[str, int] = {}
    ell: Shape = ()
    for i, (term, x) in enumerate(zip(terms, xs)):
        letters = [t for t in term if t != _ELL]
        if _ELL in term:
            if len(letters) > len(x):
                ctx.fail("einsum", f"the number of subscripts in the equation ({len(letters)}) is more than the number "
                                   f"of dims ({len(x)}) of operand {i} {fmt_shape(x)}", param="equation")
        elif len(letters) != len(x):
            ctx.fail("einsum", f"the number of subscripts in the equation ({len(letters)}) does not match the number "
                               f"of dims ({len(x)}) of operand {i} {fmt_shape(x)}", param="equation")
        n_ell = len(x) - len(letters)
        dims: list[Dim] = []
        own: dict[str, Dim] = {}
        pos = 0
        for t in term:
            if t == _ELL:
                dims_ell = tuple(x[pos:pos + n_ell])
                ell = broadcast_shapes(ctx, [ell, dims_ell], "the dims under '...' of") if ell else dims_ell
                pos += n_ell
                continue
            s = x[pos]
            pos += 1
            dims.append(s)
            counts[t] = counts.get(t, 0) + 1
            if t in own:
                if not same(own[t], s):
                    ctx.require(eq(own[t], s), "einsum", f"subscript {t} is repeated for operand {i} "
                                f"{fmt_shape(x)} but the sizes don't match ({fmt(own[t])} and {fmt(s)})",
                                show=norm(own[t] - s), param="equation")
                continue
            own[t] = s
        for t, s in own.items():
            sizes[t] = s if t not in sizes else broadcast_pair(
                ctx, sizes[t], s, f"subscript {t} (operand {i} {fmt_shape(x)})")
    if not arrow:
        single = sorted((t for t, c in counts.items() if c == 1), key=lambda t: (t.islower(), t))
        return (*ell, *(norm(sizes[t]) for t in single))
    out_terms = _term(ctx, rhs, None)
    out: list[Dim] = []
    for j, t in enumerate(out_terms):
        if t == _ELL:
            out.extend(ell)
            continue
        if t in out_terms[:j]:
            ctx.fail("einsum", f"output subscript {t} appears more than once in the output", param="equation")
        if t not in sizes:
            ctx.fail("einsum", f"output subscript {t} does not appear in the equation for any input operand",
                     param="equation")
        out.append(norm(sizes[t]))
    return tuple(out)


@op("einsum", Param("equation", _equation_t), n_inputs=(1, None), call_style="params_first")
def einsum(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """torch.einsum(equation, *operands): the output's subscripts (after '->', or the letters seen once)."""
    return einsum_shape(ctx, a["equation"], xs)


# --------------------------------------------------------------------------- scaled_dot_product_attention


def _is_zero(d: Dim) -> bool:
    return isinstance(d, int) and d == 0


def _heads(ctx: RuleCtx, q: Shape, t: Shape, name: str) -> Shape:
    """enable_gqa: t's heads (dim -3) divide q's; t is repeated to q's heads."""
    hq, ht = q[-3], t[-3]
    if same(hq, ht):
        return t
    if _is_zero(ht):
        ctx.fail("heads", f"{name} {fmt_shape(t)} has no heads (torch divides by their count)")
    ctx.require(dvd(hq, ht), "heads", f"the {fmt(ht)} heads of {name} {fmt_shape(t)} must divide the query's "
                                      f"{fmt(hq)} heads", show=hq)
    return (*t[:-3], hq, *t[-2:])


def _key_value_lengths(ctx: RuleCtx, given: list[Shape], a: dict[str, Any], k: Shape, v: Shape) -> None:
    """Key and value of different lengths: torch's flash kernel never compares them, but
    expands a mask to the value's length; its math path refuses them."""
    if not uses_flash(ctx, given, a):
        ctx.require(eq(k[-2], v[-2]), "attention", f"key {fmt_shape(k)} and value {fmt_shape(v)} must have the same "
                    f"sequence length (dim -2), got {fmt(k[-2])} and {fmt(v[-2])}", show=norm(k[-2] - v[-2]))
    elif len(given) == 4 and not ctx.decide(eq(given[3][-1], 1)):
        m = given[3]
        ctx.require(eq(m[-1], v[-2]), "attention", f"attn_mask {fmt_shape(m)} must have the value's length "
                    f"{fmt(v[-2])} as its last dim (torch's flash kernel expands it to the value's length), got "
                    f"{fmt(m[-1])}", show=norm(m[-1] - v[-2]))


@op("scaled_dot_product_attention", Param("dropout_p", float_t(0.0), 0.0), Param("is_causal", bool_t, False),
    Param("scale", opt_t(float_t()), None, kw_only=True), Param("enable_gqa", bool_t, False, kw_only=True),
    n_inputs=(3, 4), torch_name="F.scaled_dot_product_attention", input_names=("query", "key", "value", "attn_mask"))
def scaled_dot_product_attention(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """F.scaled_dot_product_attention(q, k, v, attn_mask=None): (..., L, E), (..., S, E), (..., S, Ev) -> (..., L, Ev)."""
    q, k, v = xs[:3]
    if min(len(q), len(k), len(v)) < 2:
        ctx.fail("rank", f"expects query, key and value at least 2-D, got {fmt_shape(q)}, {fmt_shape(k)} and "
                         f"{fmt_shape(v)}")
    if len(xs) == 4 and a["is_causal"]:
        ctx.fail("args", "takes no explicit attn_mask with is_causal=True", param="is_causal")
    if any(not surely_positive(d) and ctx.decide(eq(d, 0), prefer=False) for d in (q[-2], *v)):
        return (*q[:-1], v[-1])  # torch's early exit: an empty query sequence or value, nothing checked
    given = list(xs)
    if a["enable_gqa"]:
        if min(len(q), len(k), len(v)) < 3:
            ctx.fail("rank", "enable_gqa needs query, key and value of at least 3 dims (heads at dim -3)")
        k, v = _heads(ctx, q, k, "key"), _heads(ctx, q, v, "value")
    if not same(q[-1], k[-1]):
        ctx.require(eq(q[-1], k[-1]), "attention", f"query {fmt_shape(q)} and key {fmt_shape(k)} must have the same "
                    f"last dim (E), got {fmt(q[-1])} and {fmt(k[-1])}", show=norm(q[-1] - k[-1]))
    if not same(k[-2], v[-2]):
        _key_value_lengths(ctx, given, a, k, v)
    batch = broadcast_shapes(ctx, [q[:-2], k[:-2]], "the batch dims of query and key") if max(len(q), len(k)) > 2 \
        else ()
    if len(xs) == 4:
        mask = xs[3]
        if len(mask) < 2 or len(mask) > len(batch) + 2:  # torch's answer then depends on its kernel choice
            ctx.fail("not-modelled", f"attn_mask {fmt_shape(mask)} has fewer than 2 dims, or more than the scores "
                             f"{fmt_shape((*batch, q[-2], k[-2]))}, which shapeplan does not model",
                     hint="give the mask as (L, S) or (..., L, S), with no more dims than query @ key^T")
        expand_to(ctx, mask, (*batch, q[-2], k[-2]), "attn_mask")
    out_batch = broadcast_shapes(ctx, [batch, v[:-2]], "the batch dims of the scores and value") \
        if batch or len(v) > 2 else ()
    return (*out_batch, q[-2], v[-1])


# --------------------------------------------------------------------------- nn.MultiheadAttention


def _mha_params(a: dict[str, Any]) -> Dim:
    e = a["embed_dim"]
    kd = e if a["kdim"] is None else a["kdim"]
    vd = e if a["vdim"] is None else a["vdim"]
    weights = e * e + e * kd + e * vd + e * e  # q, k, v projections and out_proj
    biases = 4 * e if a["bias"] else 0
    return norm(weights + biases + (2 * e if a["add_bias_kv"] else 0))


@op("MultiheadAttention", Param("embed_dim", int_t(0)), Param("num_heads", int_t(0)),
    Param("dropout", float_t(0.0), 0.0), Param("bias", bool_t, True), Param("add_bias_kv", bool_t, False),
    Param("add_zero_attn", bool_t, False), Param("kdim", opt_t(int_t(0)), None), Param("vdim", opt_t(int_t(0)), None),
    Param("batch_first", bool_t, False), n_inputs=(3, 3), param_count=_mha_params, output_index=0)
def multihead_attention(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(L, N, E), (S, N, kdim), (S, N, vdim) -> (L, N, E) (batch_first: (N, L, E); unbatched: (L, E))"""
    e, h = a["embed_dim"], a["num_heads"]
    if e <= 0 or h <= 0:
        ctx.fail("args", f"embed_dim and num_heads must be greater than 0, got {e} and {h}", param="embed_dim")
    if e % h:
        ctx.fail("args", f"embed_dim={e} must be divisible by num_heads={h}", param="num_heads")
    q, k, v = xs
    ctx.rank(q, (2, 3), "query (L, E) or (L, N, E)")
    if len(k) != len(q) or len(v) != len(q):
        ctx.fail("rank", f"for a {len(q)}-D query, expects key and value {len(q)}-D, got {len(k)}-D and {len(v)}-D")
    batched = len(q) == 3
    qs, ks, vs = q, k, v
    if batched and a["batch_first"]:
        qs, ks, vs = ((t[1], t[0], t[2]) for t in (q, k, v))
    _equal(ctx, qs[-1], e, "embed-dim", f"expects query's embedding dim {e}, got {fmt(qs[-1])}")
    kd = e if a["kdim"] is None else a["kdim"]
    vd = e if a["vdim"] is None else a["vdim"]
    if kd == e and vd == e:
        for i, (s, t) in enumerate(zip(ks, vs)):
            _equal(ctx, s, t, "key-value", f"key {fmt_shape(k)} and value {fmt_shape(v)} must have one shape "
                                           f"(they differ at dim {i})")
    else:
        for i in range(len(ks) - 1):
            _equal(ctx, ks[i], vs[i], "key-value", f"key {fmt_shape(k)} and value {fmt_shape(v)} must have the "
                                                   f"same sequence and batch dims (they differ at dim {i})")
        _equal(ctx, vs[-1], vd, "embed-dim", f"expects value's last dim vdim={vd}, got {fmt(vs[-1])}")
    _equal(ctx, ks[-1], kd, "embed-dim", f"expects key's last dim kdim={kd}, got {fmt(ks[-1])}")
    if batched and not (isinstance(ks[0], int) and ks[0] == 0 and not a["add_bias_kv"]):
        _equal(ctx, ks[1], qs[1], "batch", f"key {fmt_shape(k)} and query {fmt_shape(q)} must have the same batch "
                                           f"size, got {fmt(ks[1])} and {fmt(qs[1])}")
    return q


def _equal(ctx: RuleCtx, got: Dim, want: Dim, code: str, message: str) -> None:
    if not same(got, want):
        ctx.require(eq(got, want), code, message, show=norm(got - want))


ATTENTION_OPS = ("einsum", "scaled_dot_product_attention", "MultiheadAttention")
