"""Conv1d/2d/3d and ConvTranspose1d/2d/3d, as torch computes them.

Conv:  out = (n + pl + pr - d*(k-1) - 1) // s + 1, and torch needs n + pl + pr >= d*(k-1) + 1.
ConvTranspose: out = (n - 1)*s - 2p + d*(k-1) + output_padding + 1, output_padding < max(s, d).
"""

from __future__ import annotations

from typing import Any

from ..dims import Dim, Shape, floordiv, fmt, norm, prod
from .base import (
    Param,
    RuleCtx,
    bool_t,
    channels,
    choice_t,
    dvd,
    eq,
    ge,
    int_t,
    ints_t,
    op,
    union_t,
)
from .padding import pad_mode_requirements

_AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _conv_params(n: int) -> tuple[Param, ...]:
    return (
        Param("in_channels", int_t(1), auto=channels(1, n + 2)),
        Param("out_channels", int_t(1), solvable=True),
        Param("kernel_size", ints_t(n, 1), solvable=True),
        Param("stride", ints_t(n, 1), 1, solvable=True),
        Param("padding", union_t(choice_t("same", "valid"), ints_t(n, 0)), 0, solvable=True),
        Param("dilation", ints_t(n, 1), 1, solvable=True),
        Param("groups", int_t(1), 1, solvable=True),
        Param("bias", bool_t, True),
        Param("padding_mode", choice_t(*PADDING_MODES), "zeros"),
    )


def _convt_params(n: int) -> tuple[Param, ...]:
    return (
        Param("in_channels", int_t(1), auto=channels(1, n + 2)),
        Param("out_channels", int_t(1), solvable=True),
        Param("kernel_size", ints_t(n, 1), solvable=True),
        Param("stride", ints_t(n, 1), 1, solvable=True),
        Param("padding", ints_t(n, 0), 0, solvable=True),
        Param("output_padding", ints_t(n, 0), 0, solvable=True),
        Param("groups", int_t(1), 1, solvable=True),
        Param("bias", bool_t, True),
        Param("dilation", ints_t(n, 1), 1, solvable=True),
        Param("padding_mode", choice_t("zeros"), "zeros"),
    )


def _channel_checks(ctx: RuleCtx, x: Shape, a: dict[str, Any], n: int) -> tuple[bool, Dim]:
    ctx.rank(x, (n + 1, n + 2), f"(C, {', '.join(_AXES[n])}) or (N, C, {', '.join(_AXES[n])})")
    batched = len(x) == n + 2
    c_in = x[1] if batched else x[0]
    g = a["groups"]
    ctx.require(dvd(a["in_channels"], g), "groups", f"in_channels={fmt(a['in_channels'])} is not divisible by groups={g}",
                hint="in_channels and out_channels must both be multiples of groups")
    ctx.require(dvd(a["out_channels"], g), "groups", f"out_channels={a['out_channels']} is not divisible by groups={g}",
                hint="in_channels and out_channels must both be multiples of groups")
    ctx.require(
        eq(c_in, a["in_channels"]), "in-channels",
        f"expects in_channels={fmt(a['in_channels'])}, but its input has {fmt(c_in)} channels",
        hint=f"set in_channels: {fmt(c_in)} (or in_channels: auto)", show=c_in,
    )
    return batched, c_in


def _conv_rule(n: int) -> Any:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        x = xs[0]
        batched, _ = _channel_checks(ctx, x, a, n)
        k, s, d, pad = a["kernel_size"], a["stride"], a["dilation"], a["padding"]
        if pad == "same" and any(si != 1 for si in s):
            ctx.fail("same-stride", "padding='same' is not supported for strided convolutions",
                     hint="use stride 1, or an explicit padding", param="padding")
        spatial = x[-n:]
        out = []
        for i in range(n):
            eff = d[i] * (k[i] - 1) + 1
            if pad == "same":
                total = d[i] * (k[i] - 1)
                left, right = total // 2, total - total // 2
            elif pad == "valid":
                left = right = 0
            else:
                left = right = pad[i]
            axis = _AXES[n][i]
            if a["padding_mode"] != "zeros":
                pad_mode_requirements(ctx, a["padding_mode"], spatial[i], left, right, f"input {axis}")
            padded = norm(spatial[i] + left + right)
            ctx.require(
                ge(padded, eff), "kernel-too-large",
                f"kernel {eff} (kernel_size={k[i]}, dilation={d[i]}) does not fit its padded input {axis} = {fmt(padded)}",
                hint=f"use an input with {axis} >= {eff - left - right}, or a smaller kernel, or more padding",
                show=padded,
            )
            out.append(floordiv(padded - eff, s[i]) + 1)
        lead = (x[0], a["out_channels"]) if batched else (a["out_channels"],)
        return (*lead, *(norm(o) for o in out))

    rule.__doc__ = f"Conv{n}d: (N, C, {', '.join(_AXES[n])}) -> (N, out_channels, ...)"
    return rule


def _convt_rule(n: int) -> Any:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        x = xs[0]
        batched, _ = _channel_checks(ctx, x, a, n)
        k, s, d, p, op_ = a["kernel_size"], a["stride"], a["dilation"], a["padding"], a["output_padding"]
        out = []
        for i in range(n):
            if op_[i] >= max(s[i], d[i]):
                ctx.fail(
                    "output-padding",
                    f"output_padding={op_[i]} must be smaller than either stride={s[i]} or dilation={d[i]}",
                    hint=f"use output_padding < {max(s[i], d[i])}", param="output_padding",
                )
            o = norm((x[-n + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op_[i] + 1)
            axis = _AXES[n][i]
            # torch's CPU backend accepts an empty output only on the path it takes for 2d/3d
            # kernels with every size >= 4 and no dilation (measured on torch 2.13, CPU)
            least = 0 if n >= 2 and all(ki >= 4 for ki in k) and all(di == 1 for di in d) else 1
            ctx.require(ge(o, least), "output-too-small",
                        f"output {axis} = {fmt(o)} is {'not positive' if least else 'negative'}",
                        hint="use less padding or a larger input", show=o)
            out.append(o)
        lead = (x[0], a["out_channels"]) if batched else (a["out_channels"],)
        return (*lead, *out)

    rule.__doc__ = f"ConvTranspose{n}d: (N, C, {', '.join(_AXES[n])}) -> (N, out_channels, ...)"
    return rule


def _conv_param_count(transposed: bool) -> Any:
    def count(a: dict[str, Any]) -> Dim:
        w = norm(a["out_channels"] * floordiv(a["in_channels"], a["groups"]) * prod(a["kernel_size"]))
        if transposed:
            w = norm(a["in_channels"] * floordiv(a["out_channels"], a["groups"]) * prod(a["kernel_size"]))
        return norm(w + (a["out_channels"] if a["bias"] else 0))

    return count


for _n in (1, 2, 3):
    op(f"Conv{_n}d", *_conv_params(_n), param_count=_conv_param_count(False))(_conv_rule(_n))
    op(f"ConvTranspose{_n}d", *_convt_params(_n), param_count=_conv_param_count(True))(_convt_rule(_n))
