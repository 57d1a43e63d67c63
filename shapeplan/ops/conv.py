"""Conv1d/2d/3d and ConvTranspose1d/2d/3d, as torch computes them.

Conv:  out = (n + pl + pr - d*(k-1) - 1) // s + 1, and torch needs n + pl + pr >= d*(k-1) + 1.
ConvTranspose: out = (n - 1)*s - 2p + d*(k-1) + output_padding + 1, output_padding < max(s, d)
(not checked by torch for an empty batch).
"""

from __future__ import annotations

from typing import Any

from ..core.conditions import dvd, eq, ge
from ..core.dims import Dim, Shape, floordiv, fmt, norm, prod
from .ctx import RuleCtx
from .padding import pad_mode_requirements
from .params import bool_t, choice_t, int_t, ints_t, union_t
from .registry import Param, channels, op

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


def _nonempty_spatial(ctx: RuleCtx, x: Shape, batched: bool, n: int) -> None:
    """torch convolves (or transposed-convolves) an input with a spatial size 0 only when its
    batch or its channels are 0 ("Only zero batch or zero channel inputs are supported"),
    whatever the padding.  A symbolic batch or channel count is taken as positive."""
    batch, c = (x[0], x[1]) if batched else (1, x[0])
    if any(isinstance(v, int) and v == 0 for v in (batch, c)):
        return
    for i, size in enumerate(x[-n:]):
        axis = _AXES[n][i]
        ctx.require(ge(size, 1), "empty-input",
                    f"input {axis} = {fmt(size)} is empty: torch convolves an empty input only when its batch or "
                    "channels are 0", hint=f"make sure {axis} >= 1 here", show=size)


def _conv_rule(n: int) -> Any:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        x = xs[0]
        batched, _ = _channel_checks(ctx, x, a, n)
        _nonempty_spatial(ctx, x, batched, n)
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
        _nonempty_spatial(ctx, x, batched, n)
        k, s, d, p, op_ = a["kernel_size"], a["stride"], a["dilation"], a["padding"], a["output_padding"]
        out = []
        for i in range(n):  # (torch skips this check for an empty batch)
            if op_[i] >= max(s[i], d[i]) and not (batched and ctx.decide(ge(0, x[0]), prefer=False)):
                ctx.fail(
                    "output-padding",
                    f"output_padding={op_[i]} must be smaller than either stride={s[i]} or dilation={d[i]}",
                    hint=f"use output_padding < {max(s[i], d[i])}", param="output_padding",
                )
            out.append(norm((x[-n + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op_[i] + 1))
        _output_sizes(ctx, x, a, n, batched, out)
        lead = (x[0], a["out_channels"]) if batched else (a["out_channels"],)
        return (*lead, *out)

    rule.__doc__ = f"ConvTranspose{n}d: (N, C, {', '.join(_AXES[n])}) -> (N, out_channels, ...)"
    return rule


def _output_sizes(ctx: RuleCtx, x: Shape, a: dict[str, Any], n: int, batched: bool, out: list[Dim]) -> None:
    """Every output size >= 1, or >= 0 where torch's CPU accepts an empty output (a case of
    its own where a size may be 0: :func:`_empty_output_ok`)."""
    empty: list[int] = []
    for i, o in enumerate(out):
        if ctx.decide(ge(0, o), prefer=False):  # this output size is 0 (or negative) here
            empty.append(i)
            ctx.require(ge(o, 0), "output-too-small", f"output {_AXES[n][i]} = {fmt(o)} is negative",
                        hint="use less padding or a larger input", show=o)
        else:
            ctx.require(ge(o, 1), "output-too-small", f"output {_AXES[n][i]} = {fmt(o)} is not positive",
                        hint="use less padding or a larger input", show=o)
    if empty:
        _empty_output_ok(ctx, x, a, n, batched, [(i, out[i]) for i in empty])


def _empty_output_ok(ctx: RuleCtx, x: Shape, a: dict[str, Any], n: int, batched: bool,
                     empty: list[tuple[int, Dim]]) -> None:
    """What torch's CPU needs to accept an empty ConvTranspose output (a size 0).

    Only its oneDNN (mkldnn) path does; the native path raises "Output size is too small".
    torch 2.14 takes the oneDNN path for float32 (``ConvParams::use_mkldnn`` in aten's
    Convolution.cpp, the input and weight seen as 4-d: 1d as (N, C, 1, L) with kernel (1, k))
    when the output padding is below the stride in every dim, and

      (strided or dilated or N >= 16 or kernel[-2:] != (1, 1) or torch threads > 1) and
      (groups > 1 or kernel[-2:] both > 3 or N > 1 or N*C*size(2)*size(3) > 20480).

    An empty batch gives an empty output on every path.  "torch threads" is the number the
    rules answer for (:meth:`RuleCtx.torch_threads`): with more than one, an
    unstrided, undilated 1x1 ConvTranspose takes the oneDNN path at any batch.  Where the answer
    turns on a symbolic size (N >= 16, N > 1, the number of elements), that is a requirement
    of the case, or a case of its own (:meth:`RuleCtx.decide`)."""
    k, s, d, op_ = a["kernel_size"], a["stride"], a["dilation"], a["output_padding"]
    i0, o0 = empty[0]
    where = f"output {_AXES[n][i0]} = {fmt(o0)} is 0"
    w = list(k) if n >= 2 else [1, k[0]]
    view = list(x) if batched else [1, *x]
    if n == 1:
        view = [view[0], view[1], 1, view[2]]
    batch, numel = view[0], norm(view[0] * view[1] * view[2] * view[3])
    if ctx.decide(ge(0, batch), prefer=False):
        return  # an empty batch gives an empty output on every path
    if any(o >= st for o, st in zip(op_, s)):  # the native path: never empty
        for i, o in empty:
            ctx.require(ge(o, 1), "output-too-small", f"output {_AXES[n][i]} = {fmt(o)} is not positive",
                        hint="use less padding or a larger input", show=o)
        return
    if not (any(v != 1 for v in s) or any(v != 1 for v in d) or w[-1] != 1 or w[-2] != 1
            or ctx.torch_threads() > 1):
        ctx.require(ge(batch, 16), "output-too-small",
                    f"{where}: torch's CPU gives an empty output of an unstrided 1x1 ConvTranspose only with a "
                    f"batch of 16 or more with one thread (its oneDNN path), but the batch is {fmt(batch)}",
                    hint="use less padding or a larger input", show=batch)
        return
    if a["groups"] > 1 or (w[-1] > 3 and w[-2] > 3) or ctx.decide(ge(batch, 2)):
        return
    ctx.require(ge(numel, 20481), "output-too-small",
                f"{where}: torch's CPU gives an empty ConvTranspose output with a batch of 1 only for an input of "
                f"more than 20480 elements (its oneDNN path), but it has {fmt(numel)}",
                hint="use less padding or a larger input", show=numel)


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
