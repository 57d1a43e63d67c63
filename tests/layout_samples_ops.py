"""More random calls for the layout tests (tests/layout_samples.py): the elementwise, creation,
indexing, product, attention and functional ops, with the integer / boolean inputs some of
them read (an index, a mask), as :class:`Typed` shapes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

Shape = list[int]
Sample = tuple[list[Shape], dict[str, Any]]
Table = dict[str, Callable[[], Sample | None]]


class Typed(list[int]):
    """A shape whose tensor has another dtype than float32 (``long`` indices, ``bool`` masks)."""

    def __init__(self, shape: Shape, dtype: str) -> None:
        super().__init__(shape)
        self.dtype = dtype


def ints(s: Shape) -> Typed:
    return Typed(s, "int64")


def mask(s: Shape) -> Typed:
    return Typed(s, "bool")


def _any(r: random.Random, low: int = 1) -> Shape:
    return [r.randint(1, 4) for _ in range(r.randint(low, 5))]


def _thinned(r: random.Random, s: Shape) -> Shape:
    """``s`` with some dims 1 and maybe fewer leading dims: broadcasts to ``s``."""
    t = [1 if r.random() < 0.4 else v for v in s]
    return t[r.randint(0, len(t) - 1):]


def _pair(r: random.Random, typed: Callable[[Shape], Shape] = list) -> list[Shape]:
    s = _any(r)
    return r.choice([[typed(s), typed(s)], [typed(s), typed(_thinned(r, s))], [typed(_thinned(r, s)), typed(s)]])


def _binary(r: random.Random, other: float | int = 2.0, typed: Callable[[Shape], Shape] = list) -> Sample:
    if r.random() < 0.25:
        return [typed(_any(r))], {"other": other}
    return _pair(r, typed), {}


def _three(r: random.Random, first: Callable[[Shape], Shape] = list) -> list[Shape]:
    s = _any(r)
    shapes = [list(s), list(s), list(s)]
    for i in range(3):
        if r.random() < 0.4:
            shapes[i] = _thinned(r, s)
    shapes[0] = first(shapes[0])
    return shapes


def _dims(r: random.Random, spatial: int) -> Shape:
    return [r.randint(1, 3), r.randint(1, 4), *(r.randint(2, 5) for _ in range(spatial))]


def _conv(r: random.Random, n: int, transpose: bool) -> Sample:
    x = _dims(r, n)
    g = r.choice([1, 1, 2]) if x[1] % 2 == 0 else 1
    k, out = r.choice([1, 2]), r.randint(1, 3) * g
    w = [x[1], out // g, *([k] * n)] if transpose else [out, x[1] // g, *([k] * n)]
    shapes = [x, w] + ([[out]] if r.random() < 0.5 else [])
    if r.random() < 0.3:  # unbatched
        shapes[0] = x[1:]
    return shapes, {"stride": r.choice([1, 2]), "groups": g, "dilation": r.choice([1, 1, 2])}


def _creation(r: random.Random, t: Table) -> None:
    def size() -> Shape:
        return [r.randint(1, 4) for _ in range(r.randint(1, 5))]

    for name in ("zeros", "ones", "rand", "randn"):
        t[name] = lambda: ([], {"size": size()})
    t["empty"] = lambda: r.choice([([], {"size": size()}), ([], {"size": [2, 3, 4, 5], "memory_format":
                                                                  r.choice(["channels_last", "contiguous_format"])}),
                                   ([], {"size": [2, 3, 1, 4, 5], "memory_format": "channels_last_3d"})])
    t["full"] = lambda: ([], {"size": size(), "fill_value": 1.5})
    t["arange"] = lambda: ([], {"end": r.randint(1, 9)})
    t["linspace"] = lambda: ([], {"start": 0.0, "end": 1.0, "steps": r.randint(1, 9)})
    t["logspace"] = lambda: ([], {"start": 0.0, "end": 1.0, "steps": r.randint(1, 9)})
    t["eye"] = lambda: ([], r.choice([{"n": r.randint(1, 5)}, {"n": r.randint(1, 5), "m": r.randint(1, 5)}]))
    t["randperm"] = lambda: ([], {"n": r.randint(1, 9)})
    for name in ("new_zeros", "new_ones", "new_empty"):
        t[name] = lambda: ([_any(r)], {"size": size()})
    t["new_full"] = lambda: ([_any(r)], {"size": size(), "fill_value": 2.0})
    def like(fill: dict[str, Any]) -> Sample:
        s = _any(r)
        fmts = ["contiguous_format", "preserve_format"] + (["channels_last"] if len(s) == 4 else []) + (
            ["channels_last_3d"] if len(s) == 5 else [])
        return [s], {**fill, **r.choice([{}, {}, {"memory_format": r.choice(fmts)}])}

    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        t[name] = lambda: like({})
    t["full_like"] = lambda: like({"fill_value": 3.0})


def _elementwise(r: random.Random, t: Table) -> None:
    for name in ("eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal",
                 "divide", "floor_divide", "fmod", "remainder", "multiply", "subtract"):
        t[name] = lambda: _binary(r)
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"):
        t[name] = lambda: _binary(r, 1, ints)
    for name in ("atan2", "hypot", "logical_and", "logical_or", "logical_xor"):
        t[name] = lambda: (_pair(r), {})
    t["bitwise_not"] = lambda: ([ints(_any(r))], {})
    t["addcmul"] = lambda: (_three(r), {"value": r.choice([1, 0.5])})
    t["addcdiv"] = lambda: (_three(r), {"value": r.choice([1, 0.5])})
    t["lerp"] = lambda: r.choice([(_pair(r), {"weight": 0.5}), (_three(r), {})])
    t["where"] = lambda: r.choice([(_three(r, mask), {}), ([mask(_any(r))], {"input": 1.0, "other": 0.0}),
                                   ((lambda s: ([mask(s[0]), s[1]], {"other": 0.0}))(_pair(r)))])
    t["masked_fill"] = lambda: (lambda s: ([s[0], mask(s[1])], {"value": 1.0}))(_pair(r))
    t["masked_fill_"] = lambda: (lambda s: ([s, mask(_thinned(r, s))], {"value": 1.0}))(_any(r))
    t["prelu"] = lambda: (lambda s: ([s, [r.choice([1, s[1] if len(s) > 1 else 1])]], {}))(_any(r))
    t["rms_norm"] = lambda: (lambda s, k: ([s] + ([s[-k:]] if r.random() < 0.5 else []), {"normalized_shape":
                                                                                         s[-k:]}))(
        _any(r), r.randint(1, 2))


def _indexing(r: random.Random, t: Table) -> None:
    def dim(s: Shape) -> int:
        return r.randrange(-len(s), len(s))

    t["diagonal"] = lambda: (lambda s: ([s], {"offset": r.randint(-1, 1), **dict(zip(("dim1", "dim2"), r.sample(
        range(len(s)), 2)))}))(_any(r, 2))
    t["swapaxes"] = lambda: (lambda s: ([s], {"axis0": dim(s), "axis1": dim(s)}))(_any(r))
    t["swapdims"] = lambda: (lambda s: ([s], {"dim0": dim(s), "dim1": dim(s)}))(_any(r))
    t["unfold"] = lambda: (lambda s, d: ([s], {"dimension": d, "size": r.randint(1, s[d]), "step": r.randint(1, 2)}))(
        *(lambda s: (s, r.randrange(len(s))))(_any(r)))
    t["flip"] = lambda: (lambda s: ([s], {"dims": r.sample(range(len(s)), r.randint(1, len(s)))}))(_any(r))
    t["roll"] = lambda: (lambda s: ([s], r.choice([{"shifts": 1}, {"shifts": [1, 2][:len(s)], "dims": [0, -1][
        :len(s)]}])))(_any(r))
    t["repeat"] = lambda: (lambda s: ([s], {"repeats": [r.randint(1, 2) for _ in range(len(s) + r.randint(0, 1))]}))(
        _any(r))
    t["tile"] = lambda: (lambda s: ([s], {"dims": [r.randint(1, 2) for _ in range(r.randint(1, 5))]}))(_any(r))
    t["repeat_interleave"] = lambda: (lambda s: ([s], r.choice([{"repeats": 2}, {"repeats": 2, "dim": dim(s)}])))(
        _any(r))
    for name in ("cumsum", "cumprod", "logcumsumexp"):
        t[name] = lambda: (lambda s: ([s], {"dim": dim(s)}))(_any(r))
    t["sort"] = lambda: (lambda s: ([s], {"dim": dim(s), "descending": r.random() < 0.5}))(_any(r))
    t["argsort"] = lambda: (lambda s: ([s], {"dim": dim(s), "descending": r.random() < 0.5}))(_any(r))
    t["topk"] = lambda: (lambda s: ([s], {"k": 1, "dim": dim(s)}))(_any(r))
    t["gather"] = lambda: (lambda s: ([s, ints([r.randint(1, v) for v in s])], {"dim": dim(s)}))(_any(r))
    t["take_along_dim"] = lambda: (lambda s: r.choice([([s, ints([r.randint(1, 4), *s[1:]])], {"dim": 0}),
                                                       ([s, ints([r.randint(1, 4)])], {})]))(_any(r))
    t["index_select"] = lambda: (lambda s: ([s, ints([r.randint(1, 4)])], {"dim": dim(s)}))(_any(r))
    def index() -> Sample:
        s = [r.randint(1, 4) for _ in range(r.randint(3, 5))]
        i, j = ints([r.randint(1, 3), r.randint(1, 3)]), ints(r.choice([[1, 1], [r.randint(1, 3)], []]))
        calls: list[Sample] = [([s, i], {"index": ["tensor"]}), ([s, i], {"index": [":", "tensor"]}),
                               ([s, i, j], {"index": ["tensor", "tensor"]}),
                               ([s, i, j], {"index": ["tensor", ":", "tensor"]}),
                               ([s, i, j], {"index": [None, "::2", "tensor", "...", "tensor"]}),
                               ([s, i], {"index": [0, "1:", "tensor"]}), ([s, j], {"index": ["...", "tensor", None]})]
        return r.choice(calls)

    t["index"] = index
    def diff() -> Sample:
        s = _any(r)
        d = r.randrange(len(s))
        extra = [[r.randint(1, 2) if i == d else v for i, v in enumerate(s)] for _ in range(r.choice([0, 0, 1, 2]))]
        return [s, *extra], {"dim": d, "n": r.randint(0, 2)}

    t["diff"] = diff
    t["embedding"] = lambda: ([ints(_any(r)), [5, r.randint(1, 4)]], {})
    t["one_hot"] = lambda: ([ints(_any(r))], {"num_classes": 3})


def _products(r: random.Random, t: Table) -> None:
    n, m, k, b = (lambda: r.randint(1, 4)), (lambda: r.randint(1, 4)), (lambda: r.randint(1, 4)), (lambda: r.randint(
        1, 3))
    t["addmm"] = lambda: (lambda n, m, k: ([r.choice([[n, m], [m], [1, m], [n, 1]]), [n, k], [k, m]], {}))(n(), m(), k())
    t["addbmm"] = lambda: (lambda n, m, k, b: ([r.choice([[n, m], [m]]), [b, n, k], [b, k, m]], {}))(n(), m(), k(), b())
    t["baddbmm"] = lambda: (lambda n, m, k, b: ([r.choice([[b, n, m], [n, m], [1, n, 1]]), [b, n, k], [b, k, m]],
                                                {}))(n(), m(), k(), b())
    t["addmv"] = lambda: (lambda n, m: ([r.choice([[n], [1]]), [n, m], [m]], {}))(n(), m())
    t["addr"] = lambda: (lambda n, m: ([r.choice([[n, m], [m], [n, 1]]), [n], [m]], {}))(n(), m())
    t["dot"] = lambda: (lambda n: ([[n], [n]], {}))(n())
    t["vdot"] = lambda: (lambda n: ([[n], [n]], {}))(n())
    t["mv"] = lambda: (lambda n, m: ([[n, m], [m]], {}))(n(), m())
    t["outer"] = lambda: ([[n()], [m()]], {})
    t["ger"] = lambda: ([[n()], [m()]], {})
    def einsum() -> Sample:
        """A random equation over 1 to 3 operands: repeated labels (diagonals), sizes of 1, '...',
        an explicit or implicit output."""
        letters = r.sample("abcdeAB", r.randint(1, 5))
        size = {c: r.choice([1, 2, 3]) for c in letters}
        terms = [r.sample(letters, r.randint(1, min(3, len(letters)))) for _ in range(r.choice([1, 2, 2, 3]))]
        if r.random() < 0.1:
            terms[0].append(terms[0][0])
        ell = "..." if r.random() < 0.2 else ""
        lead = [r.randint(1, 2) for _ in range(r.randint(0, 2))] if ell else []
        eq = ",".join(ell + "".join(t) for t in terms)
        if r.random() < 0.6:
            used = sorted({c for t in terms for c in t})
            eq += "->" + (ell if r.random() < 0.7 else "") + "".join(r.sample(used, r.randint(0, len(used))))
        return [lead + [size[c] if r.random() < 0.8 else 1 for c in t] for t in terms], {"equation": eq}

    t["einsum"] = einsum
    t["meshgrid"] = lambda: (lambda n: ([[r.randint(1, 4)] if r.random() < 0.8 else [] for _ in range(n)],
                                        {"indexing": r.choice([None, "ij", "xy"]), "item": r.randrange(n)}))(
        r.randint(1, 3))
    for d in (1, 2, 3):
        t[f"conv{d}d"] = lambda d=d: _conv(r, d, False)
        t[f"conv_transpose{d}d"] = lambda d=d: _conv(r, d, True)


def _windows(r: random.Random, t: Table) -> None:
    def folded() -> Sample:
        c, kh, kw, h, w = r.randint(1, 3), r.randint(1, 2), r.randint(1, 2), r.randint(2, 4), r.randint(2, 4)
        blocks = (h - kh + 1) * (w - kw + 1)
        return [[r.randint(1, 3), c * kh * kw, blocks]], {"output_size": [h, w], "kernel_size": [kh, kw]}

    t["Fold"] = t["fold"] = folded
    t["Unfold"] = t["im2col"] = lambda: ([_dims(r, 2)], {"kernel_size": r.choice([1, 2])})
    t["affine_grid"] = lambda: (lambda nb: r.choice([([[nb, 2, 3]], {"size": [nb, 2, r.randint(1, 4), r.randint(1, 4)],
                                                                       "align_corners": False}),
                                                      ([[nb, 3, 4]], {"size": [nb, 2, 2, r.randint(1, 3), 3],
                                                                      "align_corners": False})]))(r.randint(1, 3))
    t["grid_sample"] = lambda: (lambda x: ([x, [x[0], r.randint(1, 4), r.randint(1, 4), 2]], {"align_corners": False}))(
        _dims(r, 2))
    def sdpa() -> Sample:
        b, h, n, s, e = r.randint(1, 2), r.randint(1, 3), r.randint(1, 4), r.randint(1, 4), r.randint(1, 4)
        shapes = [[b, h, n, e], [b, h, s, e], [b, h, s, r.choice([e, r.randint(1, 4)])]]
        if r.random() < 0.4:
            shapes.append(r.choice([[n, s], [1, s], [n, 1], [b, 1, n, s], [1, h, 1, s]]))
            return shapes, {}
        return shapes, r.choice([{}, {"is_causal": True}, {"scale": 0.5}])

    t["scaled_dot_product_attention"] = sdpa
    def mha() -> Sample:
        n, l_, s, first = r.randint(1, 3), r.randint(1, 4), r.randint(1, 4), r.random() < 0.5
        kv = r.choice([4, 4, 3])
        shapes = [[n, l_, 4], [n, s, kv], [n, s, kv]] if first else [[l_, n, 4], [s, n, kv], [s, n, kv]]
        if r.random() < 0.25:  # unbatched
            shapes = [[l_, 4], [s, kv], [s, kv]]
        return shapes, {"embed_dim": 4, "num_heads": r.choice([1, 2]), "batch_first": first, "kdim": kv, "vdim": kv,
                        "add_bias_kv": r.random() < 0.2}

    t["MultiheadAttention"] = mha


def table(r: random.Random) -> Table:
    """The samples of the ops above, by op name."""
    t: Table = {}
    for part in (_creation, _elementwise, _indexing, _products, _windows):
        part(r, t)
    return t
