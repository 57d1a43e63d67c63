"""Activation memory: the live bytes at every step of a forward, and their peak.

``peak_bytes`` is the most memory the activations hold at once in an inference forward (no
autograd), layers run in the graph's topological order: the inputs (held by the caller) and
the network's outputs live to the end; any other tensor is freed after its last consumer;
during a layer its inputs and its output are live.  Which ops allocate nothing: :mod:`.tables`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import sympy

from ...core.bounds import surely_nonnegative
from ...core.dims import Dim, evaluate, free_symbols, norm, prod
from .tables import DTYPES, STATE_OPS, aliases, keeps_order

if TYPE_CHECKING:
    from ...core.ir import Network
    from ..propagate import LayerResult


def peak(values: Sequence[Dim], lows: Mapping[str, int] | None = None, proofs: int = 40) -> Dim:
    """The max of ``values``, without those another value surely bounds where every symbol
    ``s`` is at least ``lows[s]`` (default 1); a Max expression when several remain.

    A value is dropped only with a proof (:func:`shapeplan.core.bounds.surely_nonnegative`);
    sizes where the other is smaller rule a proof out first, and after ``proofs`` failed
    attempts the rest are kept (the Max is then longer, never wrong)."""
    lows = dict(lows or {})
    values = list(dict.fromkeys(values))
    names = sorted({n for v in values for n in free_symbols(v)})
    # sizes to refute a domination before trying to prove it: each symbol small or large
    grid = [0, 1, 2, 3, 7, 15, 100, 1000]
    samples = [{n: lows.get(n, 1) + k for n in names} for k in grid]
    samples += [{n: lows.get(n, 1) + (grid[(i + j) % len(grid)]) for j, n in enumerate(names)}
                for i in range(len(grid))]
    numbers = [[evaluate(v, env) for env in samples] for v in values]
    # a value that is the largest somewhere stays; any other goes if one of those surely bounds it
    top = list(dict.fromkeys(max(range(len(values)), key=lambda i: (numbers[i][k], -i)) for k in range(len(samples))))
    kept, failed = list(top), 0
    for j in range(len(values)):
        if j in top:
            continue
        for k in top:
            if any(x < y for x, y in zip(numbers[k], numbers[j])) or failed >= proofs:
                continue
            if surely_nonnegative(norm(values[k] - values[j]), lows):
                break
            failed += 1
        else:
            kept.append(j)
    if len(kept) == 1:
        return values[kept[0]]
    kept.sort()
    return norm(sympy.Max(*[values[k] for k in kept], evaluate=False))


def live_steps(net: Network, results: Mapping[str, LayerResult],
               dtype: str) -> tuple[tuple[tuple[str, Dim], ...], dict[str, bool]]:
    """(layer, live bytes during it), in execution order, and whether each layer allocates
    its output; see the module docstring (``results``: the propagation's, every layer with a shape)."""
    from ..propagate import layer_order

    itemsize = DTYPES[dtype]
    order = layer_order(net)
    last: dict[str, int] = {}
    for i, layer in enumerate(order):
        for src in layer.inputs:
            last[src] = i
    keep = set(net.inputs) | set(net.outputs)
    storage: dict[str, str] = {}  # tensor -> the tensor that owns its memory
    size: dict[str, Dim] = {}  # owner -> elements
    holders: dict[str, set[str]] = {}  # owner -> live tensors using it
    contiguous: dict[str, bool] = {}
    for name, shape in net.inputs.items():
        storage[name], size[name], holders[name], contiguous[name] = name, prod(shape), {name}, True
    live: Dim = norm(sum(size.values(), 0))
    freed: set[str] = set()
    steps = []
    allocates: dict[str, bool] = {}
    for i, layer in enumerate(order):
        r = results[layer.name]
        assert r.shape is not None
        first = layer.inputs[0] if layer.inputs else None
        allocates[layer.name] = layer.op not in STATE_OPS and not (
            first is not None and aliases(r, contiguous[first], dtype))
        if layer.op in STATE_OPS:  # module state: held by the module, not by the forward
            owner = layer.name
            size[owner], holders[owner] = 0, set()
            contiguous[layer.name] = True
            during = live
        elif not allocates[layer.name]:
            assert first is not None
            owner = storage[first]
            contiguous[layer.name] = contiguous[first] and keeps_order(r)
            during = live
        else:
            owner = layer.name
            size[owner], holders[owner] = prod(r.shape), set()
            contiguous[layer.name] = True
            live = norm(live + size[owner])
            during = live
        storage[layer.name] = owner
        holders[owner].add(layer.name)
        steps.append((layer.name, norm(during * itemsize)))
        dead = [t for t in (*layer.inputs, layer.name) if last.get(t, i) == i and t not in keep]
        for t in dict.fromkeys(dead):
            o = storage[t]
            holders[o].discard(t)
            if not holders[o] and o not in freed:
                live = norm(live - size[o])
                freed.add(o)
    return tuple(steps), allocates
