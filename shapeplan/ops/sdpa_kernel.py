"""Which kernel torch 2.14's CPU picks for ``F.scaled_dot_product_attention`` (float32, no grad).

The choice matters to shapes in one place: the flash kernel reads the key's sequence length
and never compares the value's with it, so a key and a value of different lengths run there
(the output is (..., L, E)), while the math path (``softmax(q @ k^T) @ v``) refuses them.
torch's ``select_sdp_backend_cpp`` takes flash where every check of ``use_flash_attention_cpp``
passes, here as measured against ``torch._fused_sdp_choice`` on 40,000 random shapes:

- query, key and value all 3-D or all 4-D (a 3-D tensor is (heads, seq, dim), as if batch 1);
- no dropout;
- the same batch (dim 0 of the 4-D ones);
- key and value the same heads (dim -3), which are the query's, or 1, or, with
  ``enable_gqa``, divide the query's;
- one head dim (dim -1) for all three;
- query and key sequences (dim -2) not empty;
- a mask of 2 dims, or of 4 (3 next to a 3-D query) whose batch and heads are 1 or the
  query's, and whose last two sizes are L or 1 and S or 1;
- the last dim of query, key, value and mask with stride 1.

A condition on symbolic sizes is a question (:meth:`RuleCtx.decide`): each answer is a case.
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import dvd, eq
from ..core.dims import Dim, Shape
from .ask import settle
from .ctx import RuleCtx


def _eq(ctx: RuleCtx, a: Dim, b: Dim) -> bool:
    return ctx.decide(eq(a, b))


def _one_of(ctx: RuleCtx, d: Dim, *allowed: Dim) -> bool:
    return any(_eq(ctx, d, x) for x in allowed)


def _mask_fits(ctx: RuleCtx, q: Shape, s: Dim, mask: Shape, batch: Dim, heads: Dim) -> bool:
    m = (1, *mask) if len(q) == 3 and len(mask) == 3 else tuple(mask)
    if len(m) not in (2, 4) or not (_one_of(ctx, m[-2], q[-2], 1) and _one_of(ctx, m[-1], s, 1)):
        return False
    return len(m) == 2 or (_one_of(ctx, m[0], 1, batch) and _one_of(ctx, m[1], 1, heads))


def _heads_fit(ctx: RuleCtx, hq: Dim, hk: Dim, hv: Dim, gqa: bool) -> bool:
    if not _eq(ctx, hk, hv):
        return False
    return _one_of(ctx, hk, hq, 1) or (gqa and not _eq(ctx, hk, 0) and ctx.decide(dvd(hq, hk)))


def uses_flash(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> bool:
    """Does torch's CPU run ``F.scaled_dot_product_attention`` on ``xs`` (query, key, value
    and the mask, if any, as given: before any head repetition) with its flash kernel?"""
    q, k, v = xs[:3]
    if not (len(q) == len(k) == len(v) and len(q) in (3, 4)) or a["dropout_p"] > 0:
        return False
    q4, k4, v4 = ((1, *t) if len(t) == 3 else tuple(t) for t in (q, k, v))
    if not (_eq(ctx, q4[0], k4[0]) and _eq(ctx, q4[0], v4[0])):
        return False
    if not _heads_fit(ctx, q4[1], k4[1], v4[1], a["enable_gqa"]):
        return False
    if not (_eq(ctx, q[-1], k[-1]) and _eq(ctx, q[-1], v[-1])):
        return False
    if _eq(ctx, q[-2], 0) or _eq(ctx, k[-2], 0):
        return False
    if len(xs) == 4 and not _mask_fits(ctx, q, k[-2], xs[3], q4[0], q4[1]):
        return False
    layouts = [ctx.layout(i, x) for i, x in enumerate(xs)]
    return settle(ctx, lambda ask: all(ask.eq(t.strides(ask)[-1], 1) for t in layouts))
