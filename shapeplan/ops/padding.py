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

What the whole padded tensor needs (reflect/replicate: no empty non-batch dim, an output
with at least one padded dim >= 1) is stated by the caller, which sees all dims.
"""

from __future__ import annotations

from ..dims import Dim, fmt, norm
from .base import RuleCtx, ge


def pad_mode_requirements(ctx: RuleCtx, mode: str, size: Dim, left: int, right: int, where: str) -> None:
    """State what torch's ``F.pad(mode=...)`` needs of one padded dim of size ``size``."""
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
