"""Shared rules for non-zero padding modes (used by the Pad modules, F.pad and Conv)."""

from __future__ import annotations

from ..dims import Dim, fmt
from .base import RuleCtx, ge


def pad_mode_requirements(ctx: RuleCtx, mode: str, size: Dim, left: int, right: int, where: str) -> None:
    """State what torch's ``F.pad(mode=...)`` needs of one padded dim of size ``size``.

    reflect: each pad < size; circular: each pad <= size; replicate: size >= 1.
    """
    if mode == "reflect":
        for side, p in (("left", left), ("right", right)):
            if p > 0:
                ctx.require(
                    ge(size, p + 1), "pad-too-large",
                    f"reflect padding {p} ({side}) needs {where} > {p}, but it is {fmt(size)}",
                    hint=f"use padding < {fmt(size)} or padding_mode='replicate'", show=size,
                )
    elif mode == "circular":
        for side, p in (("left", left), ("right", right)):
            if p > 0:
                ctx.require(
                    ge(size, p), "pad-too-large",
                    f"circular padding {p} ({side}) needs {where} >= {p}, but it is {fmt(size)}",
                    hint=f"use padding <= {fmt(size)}", show=size,
                )
    elif mode == "replicate" and (left > 0 or right > 0):
        ctx.require(ge(size, 1), "empty", f"replicate padding needs {where} >= 1, but it is {fmt(size)}", show=size)
