"""Shared rules for padding modes (used by the Pad modules, F.pad and Conv's padding_mode).

What torch's ``F.pad`` needs of one padded dim of size ``n`` with pads ``left``, ``right``
(negative pads crop).  With ``m = n + min(left, 0) + min(right, 0)``, the size left after
cropping:

- constant / zeros: ``m >= 0`` (each crop must fit; the output ``n + left + right`` is then >= 0);
- reflect: ``n > left`` and ``n > right``, and ``n >= 1``;
- replicate: ``n >= 1``;
- circular: ``m >= max(left, right, 0)``: the cropped input is wrapped at most once.

torch itself checks ``left <= n`` and ``right <= n`` for circular; where a negative pad on one
side leaves less than the other side's pad, it raises when it detects that the copy overlaps
itself (a contiguous input) and otherwise silently reads overlapping memory.  shapeplan reads
that region as invalid.

What the whole padded tensor needs (reflect/replicate: no empty non-batch dim; replicate:
every padded output dim >= 1; reflect: at least one) is stated by the caller, which sees all dims.

Pads may be symbolic (``F.pad(x, [d // 2, d - d // 2])`` with ``d`` a difference of sizes, of
either sign).  The rules above are then stated as plain inequalities, without min/max:
``n + min(l, 0) + min(r, 0) >= k`` is ``n + a >= k`` for every ``a`` in ``(0, l, r, l + r)``,
and ``m >= max(l, r, 0)`` is ``m >= b`` for every ``b`` in ``(l, r, 0)``.
"""

from __future__ import annotations

from ..core.conditions import ge
from ..core.dims import Dim, fmt, norm
from .ctx import RuleCtx


def pad_mode_requirements(ctx: RuleCtx, mode: str, size: Dim, left: Dim, right: Dim, where: str) -> None:
    """State what torch's ``F.pad(mode=...)`` needs of one padded dim of size ``size``."""
    if not (isinstance(left, int) and isinstance(right, int)):
        _symbolic_pad_requirements(ctx, mode, size, left, right, where)
        return
    if mode == "reflect":
        need = max(left, right, 0) + 1
        if max(left, right) > 0:
            side, p = ("left", left) if left >= right else ("right", right)
            msg = f"reflect padding {p} ({side}) needs {where} > {p}, but it is {fmt(size)}"
            hint = f"use padding < {fmt(size)} or padding_mode='replicate'"
        else:
            msg, hint = f"reflect padding needs {where} >= 1, but it is {fmt(size)}", None
        ctx.require(ge(size, need), "pad-too-large", msg, hint=hint, show=size)
    elif mode == "replicate":
        ctx.require(ge(size, 1), "empty", f"replicate padding needs {where} >= 1, but it is {fmt(size)}", show=size)
    elif mode == "circular":
        crop = min(left, 0) + min(right, 0)
        kept = norm(size + crop)
        need = max(left, right, 0)
        cropped = f" after cropping {-crop}" if crop else ""
        if need > 0:
            msg = f"circular padding {need} needs {where}{cropped} >= {need}, but it is {fmt(kept)}"
            hint = f"use padding <= {fmt(kept)} (circular padding wraps the input at most once)"
        else:
            msg, hint = f"circular cropping {-crop} needs {where} >= {-crop}, but it is {fmt(size)}", None
        ctx.require(ge(kept, need), "pad-too-large", msg, hint=hint, show=kept)
    elif mode in ("constant", "zeros"):
        crop = min(left, 0) + min(right, 0)
        if crop < 0:
            ctx.require(ge(size, -crop), "pad-too-large",
                        f"negative padding crops {-crop} from {where}, but it is only {fmt(size)}",
                        hint=f"use an input with {where} >= {-crop}, or crop less", show=size)
    else:
        raise ValueError(f"unknown padding mode {mode!r}")


def _at_least(ctx: RuleCtx, lhs: Dim, rhs: Dim, code: str, message: str, hint: str | None, show: Dim) -> None:
    """``lhs >= rhs``, unless it surely holds (symbols are positive)."""
    diff = norm(lhs - rhs)  # type: ignore[operator]
    if not isinstance(diff, int) and diff.is_nonnegative:
        return
    ctx.require(ge(lhs, rhs), code, message, hint=hint, show=show)


def _symbolic_pad_requirements(ctx: RuleCtx, mode: str, size: Dim, left: Dim, right: Dim, where: str) -> None:
    """The rules of :func:`pad_mode_requirements` for symbolic pads, as plain inequalities."""
    pads = f"({fmt(left)}, {fmt(right)})"
    crops = (0, left, right, norm(left + right))  # type: ignore[operator]
    if mode in ("constant", "zeros"):
        for a in crops[1:]:
            _at_least(ctx, norm(size + a), 0, "pad-too-large",  # type: ignore[operator]
                      f"negative padding {pads} crops more than {where}, which is {fmt(size)}",
                      "crop less, or make sure the pads are not more negative than the size", size)
    elif mode == "reflect":
        for b in (0, left, right):
            _at_least(ctx, size, norm(b + 1), "pad-too-large",  # type: ignore[operator]
                      f"reflect padding {pads} needs {where} > each pad and >= 1, but it is {fmt(size)}",
                      "use pads smaller than the size, or padding_mode='replicate'", size)
    elif mode == "replicate":
        _at_least(ctx, size, 1, "empty", f"replicate padding needs {where} >= 1, but it is {fmt(size)}", None, size)
    elif mode == "circular":
        for a in crops:
            kept = norm(size + a)  # type: ignore[operator]
            for b in (0, left, right):
                _at_least(ctx, kept, b, "pad-too-large",
                          f"circular padding {pads} needs {where}, after cropping, >= each pad, "
                          f"but {where} is {fmt(size)}",
                          "circular padding wraps the input at most once", size)
    else:
        raise ValueError(f"unknown padding mode {mode!r}")
