"""Inputs for the layout tests: torch tensors with random memory layouts, and one random call
per registry op (input shapes and keyword arguments) that fits those inputs.

``strided(shape, rng)`` makes a tensor of ``shape`` whose memory is permuted, sliced with
steps, expanded (stride 0) and given odd strides on its size-1 dims: every kind of layout
the ops below meet.  ``sample(op, rng)`` draws a call of ``op`` (or None where the op is
covered elsewhere); the calls of the elementwise, creation, indexing, product, attention and
functional ops are in tests/layout_samples_ops.py.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from layout_samples_ops import table

Shape = list[int]
Sample = tuple[list[Shape], dict[str, Any]]


def strided(shape: Shape, rng: random.Random) -> Any:
    """A zero-filled tensor of ``shape`` (float32, or the dtype of a ``Typed`` shape from
    layout_samples_ops: long indices, bool masks) with a random memory layout."""
    import torch

    dtype = getattr(torch, getattr(shape, "dtype", "float32"))

    plan: list[tuple[str, int, int]] = []  # (how, offset, step) per dim
    base: list[int] = []
    for s in shape:
        k = rng.random()
        if s >= 1 and k < 0.12:
            plan.append(("expand", 0, 1))
            base.append(1)
        elif s >= 1 and k < 0.35:
            step, off = rng.choice([1, 2, 3]), rng.randint(0, 2)
            plan.append(("slice", off, step))
            base.append(off + (s - 1) * step + 1 + rng.randint(0, 2))
        else:
            plan.append(("all", 0, 1))
            base.append(s)
    order = list(range(len(shape)))
    if rng.random() < 0.6:
        rng.shuffle(order)
    t = torch.zeros([base[i] for i in order], dtype=dtype).permute([order.index(i) for i in range(len(shape))])
    if shape:
        t = t[tuple(slice(off, off + (s - 1) * step + 1, step) if how == "slice" else slice(None)
                    for (how, off, step), s in zip(plan, shape))]
        t = t.expand(shape)
        if rng.random() < 0.3:  # the stride of a dim of 1 is never used to address memory: any value
            st = [rng.choice([0, 1, 2, 5, 7, 60]) if s == 1 else v for s, v in zip(shape, t.stride())]
            t = t.as_strided(shape, st)
    assert list(t.shape) == list(shape)
    return t


def _dims(rng: random.Random, spatial: int) -> Shape:
    """(N, C, *spatial) with small sizes."""
    return [rng.randint(1, 3), rng.randint(1, 4), *(rng.randint(2, 5) for _ in range(spatial))]


def _any(rng: random.Random) -> Shape:
    return [rng.randint(1, 4) for _ in range(rng.randint(1, 5))]


def _halved_last(rng: random.Random) -> Sample:
    s = _any(rng)
    return [s[:-1] + [2 * s[-1]]], {}


def _binary(rng: random.Random, op: str) -> Sample:
    s = _any(rng)
    calls: list[Sample] = [([s, s], {}), ([s, [1] * (len(s) - 1) + [s[-1]]], {}), ([[1] * len(s), s], {})]
    if op not in ("maximum", "minimum"):
        calls.append(([s], {"other": 2.0}))
    return rng.choice(calls)


def _cat(rng: random.Random) -> Sample:
    s = [rng.randint(1, 3) for _ in range(rng.choice([3, 4, 4, 5]))]
    d = rng.randrange(len(s))
    shapes = []
    for _ in range(rng.randint(1, 3)):
        t = list(s)
        t[d] = rng.randint(0, 3)  # empty inputs too: they suggest the contiguous format
        shapes.append(t)
    return shapes, {"dim": d}


def _by_dims(rng: random.Random, make: Callable[[Shape], Sample], ranks: tuple[int, ...] = (1, 2, 3)) -> Sample:
    return make(_dims(rng, rng.choice(ranks)))


def _table(rng: random.Random) -> dict[str, Callable[[], Sample | None]]:
    r = rng
    d1, d2, d3 = (lambda: _dims(r, 1)), (lambda: _dims(r, 2)), (lambda: _dims(r, 3))
    t: dict[str, Callable[[], Sample | None]] = table(r)
    t |= {
        "GroupNorm": lambda: ([[r.randint(1, 3), 2, 3, r.randint(1, 4)]], {"num_groups": r.choice([1, 2]),
                                                                          "num_channels": "auto"}),
        "group_norm": lambda: ([[r.randint(1, 3), 2, 3, r.randint(1, 4)]], {"num_groups": 2}),
        "LayerNorm": lambda: ([_any(r)], {"normalized_shape": "auto"}),
        "RMSNorm": lambda: ([_any(r)], {"normalized_shape": "auto"}),
        "layer_norm": lambda: (lambda s: ([s], {"normalized_shape": s[-1:]}))(_any(r)),
        "LocalResponseNorm": lambda: ([r.choice([d1(), d2(), d3()])], {"size": r.randint(1, 3)}),
        "CrossMapLRN2d": lambda: ([d2()], {"size": 2}),
        "Linear": lambda: ([_any(r)], {"in_features": "auto", "out_features": 3}),
        "linear": lambda: (lambda s: (r.choice([[s, [3, s[-1]]], [s, [3, s[-1]], [3]]]), {}))(_any(r)),
        "batch_norm": lambda: ([[r.randint(1, 3), 3, *(r.randint(1, 3) for _ in range(r.randint(0, 3)))], [3], [3]],
                               {}),
        "PReLU": lambda: (lambda s: ([s], {"num_parameters": r.choice([1, s[1] if len(s) > 1 else 1])}))(_any(r)),
        "GLU": lambda: _halved_last(r), "glu": lambda: _halved_last(r),
        "Threshold": lambda: ([_any(r)], {"threshold": 0.1, "value": 0.0}),
        "threshold": lambda: ([_any(r)], {"threshold": 0.1, "value": 0.0}),
        "Softmax2d": lambda: ([d2()], {}),
        "clamp_min": lambda: ([_any(r)], {"min": 0.0}), "clamp_max": lambda: ([_any(r)], {"max": 0.0}),
        "clamp": lambda: ([_any(r)], {"min": 0.0}), "clip": lambda: ([_any(r)], {"max": 0.0}),
        "normalize": lambda: ([_any(r)], {"dim": 0}),
        "pad": lambda: ([d2()], {"pad": [1, 1], "mode": r.choice(["constant", "reflect", "replicate", "circular"])}),
        "interpolate": lambda: r.choice([
            ([d1()], {"scale_factor": 2, "mode": r.choice(["nearest", "linear", "area"])}),
            ([d2()], {"scale_factor": 2, "mode": r.choice(["nearest", "bilinear", "bicubic", "nearest-exact", "area"])}),
            ([d3()], {"scale_factor": 2, "mode": r.choice(["nearest", "trilinear", "area"])})]),
        "Upsample": lambda: ([d2()], {"scale_factor": 2, "mode": r.choice(["nearest", "bilinear", "area"])}),
        "ChannelShuffle": lambda: ([[r.randint(1, 2), 4, r.randint(1, 3), r.randint(1, 3)]], {"groups": 2}),
        "channel_shuffle": lambda: ([[r.randint(1, 2), 4, r.randint(1, 3), r.randint(1, 3)]], {"groups": 2}),
        "PixelShuffle": lambda: ([[r.randint(1, 2), 4, r.randint(1, 3), r.randint(1, 3)]], {"upscale_factor": 2}),
        "pixel_shuffle": lambda: ([[r.randint(1, 2), 4, r.randint(1, 3), r.randint(1, 3)]], {"upscale_factor": 2}),
        "PixelUnshuffle": lambda: ([[r.randint(1, 2), r.randint(1, 3), 4, 2]], {"downscale_factor": 2}),
        "pixel_unshuffle": lambda: ([[r.randint(1, 2), r.randint(1, 3), 4, 2]], {"downscale_factor": 2}),
        "mean": lambda: ([_any(r)], {"dim": 0, "keepdim": r.random() < 0.5}),
        "sum": lambda: ([_any(r)], {"dim": -1, "keepdim": r.random() < 0.5}),
        "logsumexp": lambda: ([_any(r)], {"dim": 0}),
        "max": lambda: (lambda s: r.choice([([s, s], {}), ([s], {})]))(_any(r)),
        "min": lambda: (lambda s: ([s, s], {}))(_any(r)),
        "Unflatten": lambda: (lambda s: ([s[:-1] + [2 * s[-1]]], {"dim": -1, "unflattened_size": [2, -1]}))(_any(r)),
        "unflatten": lambda: (lambda s: ([s[:-1] + [2 * s[-1]]], {"dim": -1, "sizes": [-1, 2]}))(_any(r)),
        "flatten": lambda: (lambda s: ([s], {"start_dim": r.randrange(len(s))}))(_any(r)),
        "reshape": lambda: (lambda s: ([s], {"shape": [s[0], -1]}))(_any(r)),
        "view": lambda: (lambda s: ([s], {"shape": s[:r.randrange(len(s) + 1)] + [-1]}))(_any(r)),
        "permute": lambda: (lambda s: ([s], {"dims": r.sample(range(len(s)), len(s))}))(_any(r)),
        "transpose": lambda: (lambda s: ([s], {"dim0": r.randrange(len(s)), "dim1": r.randrange(len(s))}))(_any(r)),
        "unsqueeze": lambda: ([_any(r)], {"dim": 1}),
        "t": lambda: ([[r.randint(1, 4) for _ in range(r.randint(0, 2))]], {}),
        "movedim": lambda: (lambda s: ([s], {"source": r.randrange(len(s)), "destination": -1}))(_any(r)),
        "moveaxis": lambda: (lambda s: ([s], {"source": [0, len(s) - 1], "destination": [-1, 0]}))(
            [r.randint(1, 4) for _ in range(r.randint(2, 5))]),
        "narrow": lambda: (lambda s: ([s], {"dim": 0, "start": 0, "length": max(1, s[0] - 1)}))(_any(r)),
        "getitem": lambda: ([_any(r)], {"index": r.choice([["::2"], [None, "1:"], ["...", 0], [0, None, "::3"],
                                                           ["...", None]])}),
        "expand": lambda: (lambda s: ([s], {"size": [2] + [-1] * len(s)}))(_any(r)),
        "expand_as": lambda: (lambda s: ([[1 if r.random() < 0.4 else v for v in s], [2, *s]], {}))(_any(r)),
        "type_as": lambda: (lambda s: ([s, s], {}))(_any(r)),
        "round": lambda: ([_any(r)], {"decimals": r.choice([0, 1])}),
        "pow": lambda: (lambda s: r.choice([([s], {"exponent": r.choice([2.0, 0.5, 1.0])}), ([s, s], {})]))(_any(r)),
        "cat": lambda: _cat(r), "stack": lambda: (lambda s: ([s, s], {"dim": r.randint(0, len(s))}))(_any(r)),
        "matmul": lambda: (lambda s: ([s, [s[-1], 2]], {}))(_any(r)),
        "mm": lambda: ([[3, 2], [2, 4]], {}), "bmm": lambda: ([[2, 3, 2], [2, 2, 4]], {}),
        "Parameter": lambda: None, "Buffer": lambda: None, "Bilinear": lambda: None, "Embedding": lambda: None,
    }
    for name in ("Softmax", "LogSoftmax", "Softmin", "softmax", "log_softmax", "softmin"):
        t[name] = lambda: ([_any(r)], {"dim": r.choice([0, -1])})
    for name in ("nanmean", "nansum", "amax", "amin", "prod", "std", "var"):
        t[name] = lambda: ([_any(r)], {"dim": 0})
    for name in ("UpsamplingNearest2d", "UpsamplingBilinear2d", "upsample", "upsample_nearest", "upsample_bilinear"):
        t[name] = lambda: ([d2()], {"scale_factor": 2})
    for name in ("concat", "concatenate"):
        t[name] = t["cat"]
    for n, dims in ((1, d1), (2, d2), (3, d3)):
        for conv in ("Conv", "ConvTranspose"):
            t[f"{conv}{n}d"] = lambda dims=dims: ([dims()], {"in_channels": "auto", "out_channels": r.randint(1, 3),
                                                            "kernel_size": r.choice([1, 2])})
        t[f"BatchNorm{n}d"] = lambda dims=dims: ([dims()], {"num_features": "auto"})
        t[f"InstanceNorm{n}d"] = lambda dims=dims: ([dims()], {"num_features": "auto"})
        for pool in ("AvgPool", "avg_pool"):
            t[f"{pool}{n}d"] = lambda dims=dims: ([dims()], {"kernel_size": r.choice([1, 2])})
        for pool in ("MaxPool", "max_pool"):  # return_indices: torch's kernel with indices, the values compared
            t[f"{pool}{n}d"] = lambda dims=dims: ([dims()], {"kernel_size": r.choice([1, 2]),
                                                             "return_indices": r.random() < 0.5})
        for pool in ("LPPool", "lp_pool"):
            t[f"{pool}{n}d"] = lambda dims=dims: ([dims()], {"norm_type": r.choice([2.0, 1.0]), "kernel_size": 1})
        for pool in ("AdaptiveAvgPool", "adaptive_avg_pool"):
            t[f"{pool}{n}d"] = lambda dims=dims: ([dims()], {"output_size": r.choice([1, 2])})
        for pool in ("AdaptiveMaxPool", "adaptive_max_pool"):
            t[f"{pool}{n}d"] = lambda dims=dims: ([dims()], {"output_size": r.choice([1, 2]),
                                                             "return_indices": r.random() < 0.5})
        t[f"max_pool{n}d_with_indices"] = lambda dims=dims: ([dims()], {"kernel_size": r.choice([1, 2])})
        t[f"adaptive_max_pool{n}d_with_indices"] = lambda dims=dims: ([dims()], {"output_size": r.choice([1, 2])})
        for pad in ("ZeroPad", "ReflectionPad", "ReplicationPad", "CircularPad"):
            t[f"{pad}{n}d"] = lambda dims=dims: ([dims()], {"padding": 1})
        t[f"ConstantPad{n}d"] = lambda dims=dims: ([dims()], {"padding": 1, "value": 0.5})
    for name in ("add", "sub", "mul", "div", "maximum", "minimum"):
        t[name] = lambda name=name: _binary(r, name)
    for name, key in (("clamp_min", "min"), ("clamp_max", "max")):  # a number, or a tensor bound that broadcasts
        t[name] = lambda key=key: r.choice([([_any(r)], {key: 0.0}), _binary(r, "maximum")])
    for name, ranks in (("dropout", (1, 2, 3)), ("dropout1d", (1,)), ("dropout2d", (2,)), ("dropout3d", (2, 3)),
                        ("alpha_dropout", (1, 2)), ("feature_alpha_dropout", (2,))):
        t[name] = lambda ranks=ranks: _by_dims(r, lambda s: ([s], {"p": r.choice([0.0, 0.5, 1.0]),
                                                                  "training": r.random() < 0.7}), ranks)
    return t


def sample(op: str, rng: random.Random) -> Sample | None:
    """A random call of ``op``: (input shapes, keyword arguments), or None for the ops whose
    output is always a new contiguous tensor of given content (Parameter, Embedding...)."""
    make = _table(rng).get(op)
    return make() if make is not None else ([_any(rng)], {})
