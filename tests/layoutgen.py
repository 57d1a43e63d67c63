"""Random chains of layout-changing ops ending in ``view``, for the differential tests of
strides (tests/test_view_layouts.py) and the network fuzzer (netgen.py).

A chain starts from an input whose dims are symbols or small numbers (0 and 1 included)
and applies permute / transpose / expand / narrow / getitem (steps too) / squeeze /
unsqueeze / flatten / reshape / contiguous / clone / elementwise ops (torch gives their
output its input's memory order) and views, then a last ``view``.  The dims are tracked as
expressions (text), so that every op is written with sizes that fit its input: what is
random is the memory layout, and whether a view of it exists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

SYMBOLS = ("N", "C", "H", "W")


@dataclass
class Chain:
    """The layers of a chain so far and its output's dims (as expressions)."""

    rng: random.Random
    dims: list[str]
    layers: list[dict[str, Any]] = field(default_factory=list)
    prefix: str = "v"

    def add(self, layer: dict[str, Any], dims: list[str]) -> None:
        self.layers.append({"name": f"{self.prefix}{len(self.layers) + 1}", **layer})
        self.dims = dims


def _prod(dims: list[str]) -> str:
    return "*".join(f"({d})" for d in dims) if dims else "1"


def _group(rng: random.Random, dims: list[str]) -> tuple[list[str], list[str]]:
    """A view shape (consecutive dims merged at random, one of them sometimes -1) and the
    dims it gives."""
    out: list[str] = []
    i = 0
    while i < len(dims):
        j = min(len(dims), i + rng.choice([1, 1, 2, 3]))
        out.append(_prod(dims[i:j]) if j - i > 1 else dims[i])
        i = j
    if rng.random() < 0.3 and len(out) > 1:  # a new dim of 1 before or after one
        k = rng.randrange(len(out))
        out[k:k + 1] = ["1", out[k]] if rng.random() < 0.5 else [out[k], "1"]
    out = out or ["1"]
    shape = list(out)
    if rng.random() < 0.6:
        shape[rng.randrange(len(shape))] = "-1"
    return shape, out


def step(c: Chain) -> None:
    """One random op on the chain's output."""
    r, dims = c.rng, c.dims
    n = len(dims)
    kind = r.choice(["permute", "permute", "transpose", "transpose", "expand", "narrow", "slice", "squeeze",
                     "unsqueeze", "flatten", "reshape", "contiguous", "elementwise", "elementwise", "view"])
    if n == 0 or kind == "unsqueeze" and n < 5:
        d = r.randint(0, n)
        c.add({"op": "unsqueeze", "dim": d}, [*dims[:d], "1", *dims[d:]])
    elif kind == "permute" and n >= 2:
        p = list(range(n))
        r.shuffle(p)
        c.add({"op": "permute", "dims": p}, [dims[i] for i in p])
    elif kind == "transpose" and n >= 2:
        a, b = r.sample(range(n), 2)
        new = list(dims)
        new[a], new[b] = new[b], new[a]
        c.add({"op": "transpose", "dim0": a, "dim1": b}, new)
    elif kind == "expand" and "1" in dims:
        k = r.choice([i for i, d in enumerate(dims) if d == "1"])
        size = ["-1"] * n
        size[k] = r.choice(["2", "3", "N", "W"])
        c.add({"op": "expand", "size": size}, [size[k] if i == k else d for i, d in enumerate(dims)])
    elif kind == "narrow":
        k = r.randrange(n)
        length = r.choice([f"{dims[k]} - 1", "1", f"{dims[k]}"]) if dims[k] not in ("0",) else "0"
        c.add({"op": "narrow", "dim": k, "start": 1 if length.endswith("- 1") else 0, "length": length},
              [length if i == k else d for i, d in enumerate(dims)])
    elif kind == "slice":
        k = r.randrange(n)
        step_ = r.choice([2, 3])
        index: list[Any] = ["..."] if r.random() < 0.5 else [":"] * k
        if index == ["..."]:
            index = [":"] * k
        index.append(f"::{step_}")
        new = list(dims)
        new[k] = f"(({dims[k]}) + {step_ - 1}) // {step_}"
        if r.random() < 0.3:
            index.insert(0, None)
            new.insert(0, "1")
        c.add({"op": "getitem", "index": index}, new)
    elif kind == "squeeze" and "1" in dims:
        k = r.choice([i for i, d in enumerate(dims) if d == "1"])
        c.add({"op": "squeeze", "dim": k}, [d for i, d in enumerate(dims) if i != k])
    elif kind == "flatten" and n >= 2:
        s = r.randrange(n - 1)
        e = r.randint(s + 1, n - 1)
        c.add({"op": r.choice(["flatten", "Flatten"]), "start_dim": s, "end_dim": e},
              [*dims[:s], _prod(dims[s:e + 1]), *dims[e + 1:]])
    elif kind in ("reshape", "view"):
        shape, new = _group(r, dims)
        c.add({"op": kind, "shape": shape}, new)
    elif kind == "contiguous":
        c.add({"op": r.choice(["contiguous", "clone"])}, dims)
    else:
        op = r.choice(["relu", "sigmoid", "mul", "add", "ReLU6", "GELU", "Hardtanh", "sub"])
        layer: dict[str, Any] = {"op": op}
        if op in ("mul", "sub"):
            layer["other"] = 2.0
        elif op == "add":
            prev = c.layers[-1]["name"] if c.layers else "x"
            layer["from"] = [prev, prev]
        c.add(layer, dims)


def chain(rng: random.Random, length: int | None = None) -> dict[str, Any]:
    """A random chain (net.yaml data) on an input of 1 to 4 dims, ending in a view."""
    rank = rng.randint(2, 4)
    dims: list[str] = []
    for i in range(rank):
        if rng.random() < 0.7:
            dims.append(SYMBOLS[i])
        else:
            dims.append(str(rng.choice([0, 1, 1, 2, 3])))
    c = Chain(rng, list(dims))
    for _ in range(length if length is not None else rng.randint(1, 5)):
        step(c)
    if len(c.dims) >= 2 and rng.random() < 0.5:  # most often, a view right after a permute
        p = list(range(len(c.dims)))
        rng.shuffle(p)
        c.add({"op": "permute", "dims": p}, [c.dims[i] for i in p])
    shape, new = _group(rng, c.dims)
    c.add({"op": "view", "shape": shape}, new)
    return {"name": "Chain", "input": dims, "layers": c.layers}
