"""Random networks and a differential oracle against torch (the network fuzzer).

``generate(rng)`` draws a network as net.yaml data: a chain or a DAG (branches joined by
add/mul/sub/cat/stack), 1d/2d/3d, with every op family and random hyperparameters,
``auto`` sizes, and inputs whose dims are symbols, integers or both.  ``compare(spec)``
checks it with shapeplan once, then runs it in torch (eval mode, layer by layer, from the
network's own YAML arguments, not from shapeplan's emitted code) at several input sizes,
and compares at every size:

- validity: shapeplan's ``domain.contains(sizes)`` (or ``report.ok`` for a network with
  no symbols) is True exactly where torch's forward pass runs without raising;
- shapes: where torch runs, the output shape of every layer equals shapeplan's formula.

Everything is deterministic from the ``random.Random`` passed in.  ``shrink`` reduces a
disagreeing case (fewer layers, simpler arguments, one size); ``to_yaml`` writes it as a
regression file for tests/regressions/.  Used by tests/test_fuzz_networks.py (a few
thousand cases in CI) and tools/fuzz.py (long runs).
"""

from __future__ import annotations

import copy
import math
import random
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import shapeplan
from shapeplan.analysis.check import run_check
from shapeplan.core.dims import evaluate, free_symbols, norm
from shapeplan.ops import REGISTRY
from shapeplan.ops.calls import call_source
from shapeplan.ops.ctx import ArgError
from shapeplan.ops.registry import bind, resolve_auto

SPATIAL_SYMBOLS = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}
MAX_NUMEL = 400_000  # sizes whose tensors would be larger are not run (time, not correctness)


# --------------------------------------------------------------------------- the generator


@dataclass
class Node:
    """What the generator knows about a tensor of the network."""

    name: str
    rank: int
    channels: int | None  # dim 1, when known
    spatial: bool  # (N, C, *spatial) of the network's dimensionality


@dataclass
class Gen:
    rng: random.Random
    d: int  # spatial dims: 1, 2 or 3
    layers: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    count: int = 0

    def name(self) -> str:
        self.count += 1
        return f"l{self.count}"

    def ks(self, lo: int = 1, hi: int = 4) -> Any:
        """An int, or (sometimes) a list of one int per spatial dim."""
        r = self.rng
        if self.d > 1 and r.random() < 0.25:
            return [r.randint(lo, hi) for _ in range(self.d)]
        return r.randint(lo, hi)


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def _spatial_op(g: Gen, x: Node) -> tuple[dict[str, Any], Node]:
    """One op on an (N, C, *spatial) tensor."""
    r, d = g.rng, g.d
    c = x.channels
    family = r.choice(["conv", "conv", "convt", "pool", "pool", "adaptive", "norm", "act", "act", "pad", "resize",
                       "resize", "pixel", "dropout", "reduce", "shape", "func_pool"])
    out_c = c
    lay: dict[str, Any]
    if family == "conv":
        oc = r.randint(1, 6)
        groups = 1
        if c and r.random() < 0.3:
            common = [k for k in _divisors(c) if oc % k == 0]
            groups = r.choice(common)
        lay = {"op": f"Conv{d}d", "in_channels": "auto" if r.random() < 0.85 else (c or 3), "out_channels": oc,
               "kernel_size": g.ks(1, 5)}
        if r.random() < 0.15:
            lay["padding"] = r.choice(["same", "valid"])
            if lay["padding"] == "same" and r.random() < 0.8:
                lay["dilation"] = g.ks(1, 3)
        else:
            if r.random() < 0.6:
                lay["stride"] = g.ks(1, 3)
            if r.random() < 0.6:
                lay["padding"] = g.ks(0, 3)
            if r.random() < 0.3:
                lay["dilation"] = g.ks(1, 3)
        if groups > 1:
            lay["groups"] = groups
        if r.random() < 0.2:
            lay["padding_mode"] = r.choice(["zeros", "reflect", "replicate", "circular"])
        if r.random() < 0.2:
            lay["bias"] = False
        out_c = oc
    elif family == "convt":
        oc = r.randint(1, 5)
        stride = r.randint(1, 3)
        dil = r.randint(1, 2)
        lay = {"op": f"ConvTranspose{d}d", "in_channels": "auto", "out_channels": oc, "kernel_size": g.ks(1, 4),
               "stride": stride, "padding": r.randint(0, 2), "dilation": dil}
        if r.random() < 0.5:
            lay["output_padding"] = r.randint(0, max(stride, dil) - 1)
        if r.random() < 0.3:  # near an empty output: a small kernel and a padding that eats it
            lay.update(kernel_size=r.choice([1, 1, 2, 4]), stride=r.choice([1, 1, 2]), dilation=1,
                       padding=r.randint(1, 3), output_padding=0)
            if c and r.random() < 0.3:
                lay["groups"] = r.choice(_divisors(c))
                lay["out_channels"] = oc = lay["groups"] * r.randint(1, 2)
        out_c = oc
    elif family in ("pool", "func_pool"):
        kind = r.choice(["Max", "Avg", "Avg", "LP"])
        k = r.randint(1, 4)
        lay = {"kernel_size": k if r.random() < 0.7 else g.ks(1, 4)}
        if r.random() < 0.6:
            lay["stride"] = r.randint(1, 3)
        if kind != "LP" and r.random() < 0.5:
            lay["padding"] = r.randint(0, k // 2 + (1 if r.random() < 0.1 else 0))  # sometimes too much
        if r.random() < 0.4:
            lay["ceil_mode"] = True
        if kind == "Max" and r.random() < 0.3:
            lay["dilation"] = r.randint(1, 2)
        if kind == "Avg" and r.random() < 0.3:
            lay["count_include_pad"] = False
        if kind == "LP":
            lay = {"norm_type": r.choice([1, 2]), **lay}
        if family == "func_pool" and kind != "LP":
            lay["op"] = f"{kind.lower()}_pool{d}d"
        else:
            lay["op"] = f"{kind}Pool{d}d"
    elif family == "adaptive":
        kind = r.choice(["Avg", "Max"])
        size: Any = r.choice([1, 1, 2, 3, 4])
        if d > 1 and r.random() < 0.4:
            size = [r.choice([None, 1, 1, 2, 3]) for _ in range(d)]
        op = f"Adaptive{kind}Pool{d}d" if r.random() < 0.7 else f"adaptive_{kind.lower()}_pool{d}d"
        lay = {"op": op, "output_size": size}
    elif family == "norm":
        kind = r.choice(["BatchNorm", "InstanceNorm", "GroupNorm", "LayerNorm", "LocalResponseNorm"])
        if kind == "BatchNorm":
            lay = {"op": f"BatchNorm{d}d", "num_features": "auto"}
        elif kind == "InstanceNorm":
            lay = {"op": f"InstanceNorm{d}d", "num_features": "auto"}
            if r.random() < 0.3:
                lay["affine"] = True
            if r.random() < 0.2:
                lay["track_running_stats"] = True
        elif kind == "GroupNorm":
            groups = r.choice(_divisors(c)) if c else r.randint(1, 3)
            if r.random() < 0.1:
                groups = r.randint(1, 4)  # sometimes not a divisor
            lay = {"op": "GroupNorm", "num_groups": groups, "num_channels": "auto"}
        elif kind == "LayerNorm":
            lay = {"op": "LayerNorm", "normalized_shape": "auto"}
        else:
            lay = {"op": "LocalResponseNorm", "size": r.randint(1, 4)}
    elif family == "act":
        rank = 2 + d
        kind = r.choice(["ReLU", "GELU", "SiLU", "Tanh", "LeakyReLU", "ELU", "Hardswish", "Softmax", "LogSoftmax",
                         "GLU", "PReLU", "Softmax2d", "relu", "gelu", "softmax", "glu"])
        lay = {"op": kind}
        if kind in ("Softmax", "LogSoftmax", "softmax"):
            lay["dim"] = r.randint(-rank, rank - 1) if r.random() < 0.95 else rank
        elif kind in ("GLU", "glu"):
            lay["dim"] = r.randint(-rank, rank - 1)
        elif kind == "PReLU" and c and r.random() < 0.5:
            lay["num_parameters"] = c if r.random() < 0.9 else c + 1
        if kind in ("GLU", "glu") and lay["dim"] % rank == 1 and c:
            out_c = c // 2
        elif kind in ("GLU", "glu") and lay["dim"] % rank == 1:
            out_c = None
    elif family == "pad":
        kind = r.choice(["Zero", "Constant", "Reflection", "Replication", "Circular", "F"])
        lo = -1 if kind in ("Zero", "Constant") and r.random() < 0.2 else 0
        if kind == "F":
            n = r.randint(1, d)
            lay = {"op": "pad", "pad": [r.randint(0, 3) for _ in range(2 * n)],
                   "mode": r.choice(["constant", "reflect", "replicate", "circular"])}
        else:
            pad: Any = r.randint(lo, 3) if r.random() < 0.5 else [r.randint(lo, 3) for _ in range(2 * d)]
            lay = {"op": f"{kind}Pad{d}d", "padding": pad}
            if kind == "Constant":
                lay["value"] = 0.5
    elif family == "resize":
        modes = {1: ["nearest", "linear", "nearest-exact"], 2: ["nearest", "bilinear", "bicubic", "nearest-exact"],
                 3: ["nearest", "trilinear", "nearest-exact"]}[d]
        mode = r.choice(modes)
        lay = {"op": r.choice(["Upsample", "interpolate"]), "mode": mode}
        if r.random() < 0.5:
            scales = [0.5, 1.5, 2.0, 2, 3.0, 0.75, 0.7, 0.3, 1.4, 2.3, 0.35, 1.7, 0.6, 4.1, 1.15, 0.9]
            lay["scale_factor"] = r.choice(scales) if d == 1 or r.random() < 0.7 else \
                [r.choice(scales) for _ in range(d)]
            if r.random() < 0.3:
                lay["recompute_scale_factor"] = r.choice([True, False])
        else:
            syms = SPATIAL_SYMBOLS[d]
            sz: list[Any] = []
            for i in range(d):
                choice = r.random()
                if choice < 0.4:
                    sz.append(r.randint(1, 9))
                elif choice < 0.7:
                    sz.append(syms[i])
                else:
                    sz.append(f"{syms[i]} // {r.randint(2, 3)} + {r.randint(0, 1)}")
            lay["size"] = sz if d > 1 or r.random() < 0.5 else sz[0]
        if mode in ("linear", "bilinear", "bicubic", "trilinear") and r.random() < 0.4:
            lay["align_corners"] = True
    elif family == "pixel":
        if d == 2 and r.random() < 0.6:
            f = r.choice([2, 3])
            if r.random() < 0.5:
                lay = {"op": "PixelShuffle", "upscale_factor": f}
                out_c = c // (f * f) if c and c % (f * f) == 0 else None
            else:
                lay = {"op": "PixelUnshuffle", "downscale_factor": f}
                out_c = c * f * f if c else None
        else:
            groups = r.choice(_divisors(c)) if c else 2
            lay = {"op": "ChannelShuffle", "groups": groups}
    elif family == "dropout":
        lay = {"op": r.choice(["Dropout", f"Dropout{d}d", "Identity", "AlphaDropout"])}
    elif family == "reduce":
        rank = 2 + d
        dim = r.randint(2, rank - 1)
        lay = {"op": r.choice(["mean", "sum", "amax"]), "dim": dim if r.random() < 0.7 else [dim, 1], "keepdim": True}
        if isinstance(lay["dim"], list):
            out_c = 1
    else:  # shape ops
        rank = 2 + d
        kind = r.choice(["transpose", "unsqueeze", "squeeze", "contiguous"])
        if kind == "transpose" and d >= 2:
            lay = {"op": "transpose", "dim0": 2, "dim1": r.randint(3, rank - 1)}
        elif kind == "unsqueeze":
            return {"op": "unsqueeze", "dim": r.randint(-rank - 1, rank)}, Node("", rank + 1, None, False)
        elif kind == "squeeze":
            form = r.random()
            if form < 0.5:
                lay = {"op": "squeeze", "dim": r.randint(2, rank - 1)}  # a no-op unless that size is 1
            elif form < 0.75:
                lay = {"op": "squeeze", "dim": [r.randint(0, rank - 1), r.randint(2, rank - 1)]}
            else:
                lay = {"op": "squeeze"}  # every size-1 dim, the batch too: the rank depends on the sizes
            return lay, Node("", rank, c, False)
        else:
            lay = {"op": "contiguous"}
    return lay, Node("", 2 + d, out_c, True)


def _flat_op(g: Gen, x: Node) -> tuple[dict[str, Any], Node]:
    """One op on an (N, F) tensor."""
    r = g.rng
    kind = r.choice(["Linear", "Linear", "act", "BatchNorm1d", "LayerNorm", "Dropout", "Softmax", "unflatten"])
    if kind == "Linear":
        return {"op": "Linear", "in_features": "auto", "out_features": r.randint(1, 12)}, Node("", 2, None, False)
    if kind == "act":
        return {"op": r.choice(["ReLU", "Tanh", "GELU", "sigmoid"])}, Node("", 2, x.channels, False)
    if kind == "BatchNorm1d":
        return {"op": "BatchNorm1d", "num_features": "auto"}, Node("", 2, x.channels, False)
    if kind == "LayerNorm":
        return {"op": "LayerNorm", "normalized_shape": "auto"}, Node("", 2, x.channels, False)
    if kind == "Softmax":
        return {"op": "Softmax", "dim": r.choice([-1, 1, 0])}, Node("", 2, x.channels, False)
    if kind == "unflatten":
        return {"op": "unflatten", "dim": 1, "sizes": [r.choice([1, 2, -1]), -1 if r.random() < 0.5 else 2]}, \
            Node("", 3, None, False)
    return {"op": "Dropout"}, Node("", 2, x.channels, False)


def _permute_then_view(g: Gen, x: Node) -> tuple[dict[str, Any], Node]:
    """A permute or transpose of an (N, C, *spatial) tensor (added here), then a view of it
    (returned): torch refuses the view where the permuted memory cannot take the new shape,
    which depends on the sizes (dims of 1)."""
    r = g.rng
    rank = x.rank
    if r.random() < 0.5:
        dims = [0, *range(2, rank), 1]  # channels last
        lay: dict[str, Any] = {"op": "permute", "dims": dims}
    else:
        a, b = r.choice([(1, rank - 1), (2, rank - 1), (0, 1)])
        dims = list(range(rank))
        dims[a], dims[b] = dims[b], dims[a]
        lay = {"op": "transpose", "dim0": a, "dim1": b}
    name = g.name()
    if x.name != (g.layers[-1]["name"] if g.layers else "x"):
        lay["from"] = x.name
    g.layers.append({"name": name, **lay})
    g.nodes.append(Node(name, rank, None, False))
    shapes: list[list[Any]] = [[-1], [1, -1]]
    if dims[-1] == 1 and x.channels:
        shapes.append([-1, x.channels])  # (N*H*W, C): a view only where the merged dims are contiguous
    view = {"op": "view", "shape": r.choice(shapes)}
    return view, Node("", len(view["shape"]), x.channels if view["shape"] == [-1, x.channels] else None, False)


def _merge(g: Gen, x: Node) -> tuple[dict[str, Any], Node] | None:
    """Join x with an earlier tensor of the same rank (a branch): add/mul/sub, cat, stack."""
    r = g.rng
    peers = [n for n in g.nodes if n.rank == x.rank and n.name != x.name]
    if not peers:
        return None
    y = r.choice(peers)
    kind = r.choice(["add", "add", "mul", "sub", "cat", "cat", "stack"])
    if kind == "cat":
        dim = 1 if r.random() < 0.8 else r.randint(0, x.rank - 1)
        c = (x.channels + y.channels) if dim == 1 and x.channels and y.channels else (x.channels if dim != 1 else None)
        return {"op": "cat", "from": [x.name, y.name], "dim": dim}, Node("", x.rank, c, x.spatial)
    if kind == "stack":
        lay = {"op": "stack", "from": [x.name, y.name], "dim": r.randint(0, x.rank)}
        return lay, Node("", x.rank + 1, None, False)
    return {"op": kind, "from": [x.name, y.name]}, Node("", x.rank, x.channels, x.spatial)


def _append(g: Gen, lay: dict[str, Any], node: Node, src: str) -> Node:
    """Add ``lay`` reading ``src`` (the previous layer unless said otherwise)."""
    name = g.name()
    lay = {"name": name, **lay}
    if "from" not in lay and src != (g.layers[-1]["name"] if g.layers else "x"):
        lay["from"] = src
    g.layers.append(lay)
    node.name = name
    g.nodes.append(node)
    return node


def _fusion(g: Gen, x: Node) -> Node:
    """Branches of different sizes joined by a broadcasting op: a squeeze-excite style gate
    (x * pool(x) with a size-1 spatial), or an HRNet-style fusion (a stride-2 branch added to a
    stride-4 branch upsampled 2x, sizes (H+1)//2 and 2*((H+3)//4): equal, or one of them 1)."""
    r, d = g.rng, g.d
    c = x.channels
    if r.random() < 0.5:
        if r.random() < 0.5:
            gate = _append(g, {"op": f"AdaptiveAvgPool{d}d", "output_size": 1}, Node("", x.rank, c, True), x.name)
        else:
            dims = list(range(2, 2 + d))
            gate = _append(g, {"op": "mean", "dim": dims if r.random() < 0.7 else dims[:1], "keepdim": True},
                           Node("", x.rank, c, True), x.name)
        if r.random() < 0.5:
            gate = _append(g, {"op": "sigmoid"}, Node("", x.rank, c, True), gate.name)
        kind = r.choice(["mul", "add", "sub"])
        return _append(g, {"op": kind, "from": [x.name, gate.name] if r.random() < 0.7 else [gate.name, x.name]},
                       Node("", x.rank, c, True), x.name)
    k = r.choice([1, 3])
    oc = r.randint(1, 4)
    conv = {"op": f"Conv{d}d", "in_channels": "auto", "out_channels": oc, "kernel_size": k, "stride": 2,
            "padding": k // 2}
    b1 = _append(g, dict(conv), Node("", x.rank, oc, True), x.name)
    b2 = _append(g, dict(conv), Node("", x.rank, oc, True), b1.name)
    up = _append(g, {"op": "Upsample", "scale_factor": 2.0, "mode": "nearest"}, Node("", x.rank, oc, True), b2.name)
    return _append(g, {"op": r.choice(["add", "add", "mul"]), "from": [b1.name, up.name]},
                   Node("", x.rank, oc, True), up.name)


def generate(rng: random.Random, max_layers: int = 7) -> dict[str, Any]:
    """A random network as net.yaml data (a dict that shapeplan.load takes)."""
    r = rng
    d = r.choices([1, 2, 3], weights=[3, 5, 2])[0]
    g = Gen(r, d)
    c = r.randint(1, 4)
    mode = r.choices(["symbolic", "mixed", "concrete"], weights=[5, 3, 2])[0]
    hi = {1: 24, 2: 16, 3: 8}[d]
    spatial: list[Any] = []
    for s in SPATIAL_SYMBOLS[d]:
        if mode == "symbolic" or (mode == "mixed" and r.random() < 0.5):
            spatial.append(s)
        else:
            spatial.append(r.randint(1, hi))
    batch: Any = "N" if mode != "concrete" and r.random() < 0.3 else r.choice([1, 1, 1, 2, 2, 16])
    shape = [batch, c, *spatial]
    g.nodes.append(Node("x", 2 + d, c, True))
    x = g.nodes[0]
    for _ in range(r.randint(1, max_layers)):
        # branch: sometimes read an earlier tensor instead of the last one
        if len(g.nodes) > 2 and r.random() < 0.2:
            x = r.choice(g.nodes)
        made: tuple[dict[str, Any], Node] | None = None
        if x.spatial and r.random() < 0.06:
            x = _fusion(g, x)
            continue
        if len(g.nodes) > 2 and r.random() < 0.22:
            made = _merge(g, x)
        if made is None:
            if x.spatial:
                if r.random() < 0.07:
                    op = r.choice(["Flatten", "flatten"])
                    lay = {"op": op, "start_dim": 1} if op == "flatten" else {"op": "Flatten"}
                    made = lay, Node("", 2, None, False)
                elif r.random() < 0.06:
                    made = _permute_then_view(g, x)
                else:
                    made = _spatial_op(g, x)
            elif x.rank == 2:
                made = _flat_op(g, x)
            else:
                made = {"op": r.choice(["ReLU", "flatten", "Identity"])}, Node("", x.rank, None, False)
                if made[0]["op"] == "flatten":
                    made = {"op": "flatten", "start_dim": 1}, Node("", 2, None, False)
        lay, node = made
        name = g.name()
        lay = {"name": name, **lay}
        if "from" not in lay and x.name != (g.layers[-1]["name"] if g.layers else "x"):
            lay["from"] = x.name
        g.layers.append(lay)
        node.name = name
        g.nodes.append(node)
        x = node
    if x.spatial and r.random() < 0.3:  # a classifier head: pool, flatten (or squeeze), Linear(auto)
        g.layers.append({"name": g.name(), "op": f"AdaptiveAvgPool{d}d", "output_size": 1})
        if r.random() < 0.3:  # x.squeeze(): at N = 1 the batch dim goes too
            g.layers.append({"name": g.name(), "op": "squeeze"})
        else:
            g.layers.append({"name": g.name(), "op": "Flatten"})
        g.layers.append({"name": g.name(), "op": "Linear", "in_features": "auto", "out_features": r.randint(1, 5)})
    return {"name": "Fuzz", "input": shape, "layers": g.layers}


# --------------------------------------------------------------------------- running in torch


class TorchCallError(Exception):
    """Torch was called with a wrong signature: a bug in the harness or the op spec."""


def _eval_value(v: Any, env: Mapping[str, int]) -> Any:
    if isinstance(v, tuple):
        return tuple(_eval_value(x, env) for x in v)
    if isinstance(v, list):
        return [_eval_value(x, env) for x in v]
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if hasattr(v, "free_symbols"):
        return evaluate(norm(v), env)
    return v


def torch_forward(net: shapeplan.Network, env: Mapping[str, int],
                  seen: dict[str, list[tuple[int, ...]]] | None = None) -> dict[str, tuple[int, ...]] | None:
    """Every layer's output shape when torch runs ``net`` at ``env``; None where torch raises.

    Each layer is built from its own YAML arguments (bound as shapeplan binds them, with
    ``auto`` read off the actual input tensors), in eval mode, and applied to zero tensors.
    """
    import torch
    import torch.nn.functional as F

    ns: dict[str, Any] = {"torch": torch, "nn": torch.nn, "F": F}
    values: dict[str, Any] = {}
    for name, shape in net.inputs.items():
        values[name] = torch.zeros(tuple(evaluate(norm(d), env) for d in shape))
    out: dict[str, tuple[int, ...]] = {}
    from shapeplan.analysis.propagate import layer_order

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for layer in layer_order(net):
            spec = REGISTRY[layer.op]
            xs = [values[s] for s in layer.inputs]
            try:
                bound = bind(spec, layer.args, layer.kwargs)
                bound = {k: _eval_value(v, env) for k, v in bound.items()}
                args = resolve_auto(spec, bound, [tuple(t.shape) for t in xs])
            except ArgError:
                return None  # `auto` cannot be read off the input (e.g. no dim 1)
            if seen is not None:
                seen[layer.name] = [tuple(t.shape) for t in xs]
            names = [f"_in{i}" for i in range(len(xs))]
            src = call_source(spec, names, args)
            if spec.kind == "module":
                src += ".eval()(" + ", ".join(names) + ")"
            env_ns = {**ns, **dict(zip(names, xs))}
            try:
                with torch.no_grad():
                    y = eval(src, env_ns)  # noqa: S307 - built from bound, validated values
            except TypeError as e:
                msg = str(e)
                if "argument" in msg and "must be" not in msg and "got" in msg and "expected" not in msg:
                    raise TorchCallError(f"{src}: {e}") from None
                if seen is not None:
                    seen["!error"] = [(layer.name, msg)]  # type: ignore[list-item]
                return None
            except (RuntimeError, ValueError, IndexError, ZeroDivisionError, OverflowError) as e:
                if seen is not None:
                    seen["!error"] = [(layer.name, str(e))]  # type: ignore[list-item]
                return None
            if isinstance(y, tuple):
                y = y[0]
            values[layer.name] = y
            out[layer.name] = tuple(y.shape)
    return out


# --------------------------------------------------------------------------- the comparison


@dataclass
class Outcome:
    """What one case did: counts, and the disagreements found (empty when all agree)."""

    loaded: bool = True
    sizes: int = 0
    layers: int = 0
    valid: int = 0  # sizes where both say valid
    invalid: int = 0  # sizes where both say invalid
    disagreements: list[dict[str, Any]] = field(default_factory=list)


# Every size where shapeplan and torch differ is a disagreement: the broadcast of a size 1,
# squeeze of a symbolic size, decimal scale factors, empty ConvTranspose outputs, empty inputs of
# PixelUnshuffle and of the norms, and views of non-contiguous tensors (strides) are all exact
# (cases where a size may be 1 or 0; layouts).


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(max(v, 0) for v in shape)


def _all_symbols(rep: shapeplan.Report) -> list[str]:
    """The domain's symbols, and any other symbol a layer argument names."""
    out = list(rep.domain.symbols)
    for layer in rep.network.layers:
        try:
            bound = bind(REGISTRY[layer.op], layer.args, layer.kwargs)
        except ArgError:
            continue
        for v in bound.values():
            for x in v if isinstance(v, (tuple, list)) else (v,):
                if hasattr(x, "free_symbols"):
                    out += [n for n in sorted(free_symbols(norm(x))) if n not in out]
    return out


def envs_for(rep: shapeplan.Report, rng: random.Random, n: int = 6) -> Iterator[dict[str, int]]:
    """Input sizes to try: around the smallest valid one, and random ones."""
    syms = _all_symbols(rep)
    if not syms:
        yield {}
        return
    seen: set[tuple[int, ...]] = set()
    cands: list[dict[str, int]] = []
    small = rep.domain.smallest() if rep.ok else None
    if small:
        cands.append(dict(small))
        for s in syms:
            for delta in (-1, 1, 2):
                e = dict(small)
                e[s] = max(1, e[s] + delta)
                cands.append(e)
    hi = {"N": 3, "L": 40, "H": 24, "W": 24, "D": 10}
    for _ in range(n):
        e = {s: rng.randint(1, hi.get(s, 16)) for s in syms}
        if "N" in e and rng.random() < 0.15:
            e["N"] = rng.choice([15, 16, 17])  # ConvTranspose's empty outputs turn on N >= 16
        cands.append(e)
    rng.shuffle(cands)
    if small:
        cands.insert(0, dict(small))
    for e in cands:
        key = tuple(e[s] for s in syms)
        if key not in seen and len(seen) < n:
            seen.add(key)
            yield e


def compare(spec: Mapping[str, Any] | str, rng: random.Random | None = None, envs: list[dict[str, int]] | None = None,
            n_sizes: int = 6) -> Outcome:
    """Check ``spec`` with shapeplan, run it in torch, and report every disagreement."""
    rng = rng or random.Random(0)
    out = Outcome()
    try:
        net = shapeplan.load(spec)  # type: ignore[arg-type]
    except shapeplan.InputError:
        out.loaded = False  # refused for its arguments, like torch's constructor would
        return out
    rep = run_check(net)  # no fix-it search: only the verdicts matter here
    syms = _all_symbols(rep)
    for env in envs if envs is not None else list(envs_for(rep, rng, n_sizes)):
        predicted: dict[str, tuple[int, ...]] = {}
        for name, shape in rep.shapes_at(**env).items():
            if shape is not None and all(s in env for d in shape for s in free_symbols(d)):
                predicted[name] = tuple(evaluate(norm(d), env) for d in shape)
        if any(_numel(s) > MAX_NUMEL for s in predicted.values()):
            continue
        if syms:
            valid = rep.ok and rep.domain.contains(**{k: v for k, v in env.items() if k in rep.domain.symbols})
        else:
            valid = rep.ok
        seen: dict[str, list[tuple[int, ...]]] = {}
        got = torch_forward(net, env, seen)
        out.sizes += 1
        if got is None:
            if valid:
                err = str(seen.get("!error", [("", "")])[0][1])
                out.disagreements.append({"kind": "torch-raises", "env": env, "torch": err[:200]})
            else:
                out.invalid += 1
            continue
        if not valid:
            out.disagreements.append({"kind": "torch-runs", "env": env})
            continue
        out.valid += 1
        for name, shape in got.items():
            out.layers += 1
            if predicted.get(name) != shape:
                out.disagreements.append({"kind": "shape", "env": env, "layer": name,
                                          "shapeplan": predicted.get(name), "torch": shape})
                break
    return out


# --------------------------------------------------------------------------- shrinking and regression files


def _without_layer(spec: dict[str, Any], i: int) -> dict[str, Any] | None:
    """The network with layer i removed; readers of it read its (first) input instead."""
    layers = spec["layers"]
    gone = layers[i]
    prev = layers[i - 1]["name"] if i > 0 else "x"
    src = gone.get("from", prev)
    src = src[0] if isinstance(src, list) else src
    new: list[dict[str, Any]] = []
    for j, lay in enumerate(layers):
        if j == i:
            continue
        lay = dict(lay)
        f = lay.get("from")
        if f is None and j == i + 1:
            if src != (new[-1]["name"] if new else "x"):
                lay["from"] = src
        elif isinstance(f, list):
            lay["from"] = [src if v == gone["name"] else v for v in f]
        elif f == gone["name"]:
            lay["from"] = src
        new.append(lay)
    if not new:
        return None
    out = dict(spec)
    out["layers"] = new
    return out


def _simpler_values(v: Any) -> Iterator[Any]:
    if isinstance(v, bool):
        if v:
            yield False
    elif isinstance(v, int):
        for w in (0, 1, v // 2, v - 1):
            if 0 <= w < v:
                yield w
    elif isinstance(v, float):
        for f in (1.0, 2.0, float(int(v))):
            if f != v:
                yield f
    elif isinstance(v, list):
        if len(v) > 1 and len(set(map(str, v))) == 1:
            yield v[0]
        for i, x in enumerate(v):
            for w in _simpler_values(x):
                yield [*v[:i], w, *v[i + 1:]]


def _candidates(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for i in reversed(range(len(spec["layers"]))):
        c = _without_layer(spec, i)
        if c is not None:
            yield c
    for i, lay in enumerate(spec["layers"]):
        for k, v in lay.items():
            if k in ("name", "op", "from"):
                continue
            c = copy.deepcopy(spec)
            del c["layers"][i][k]
            yield c
            for w in _simpler_values(v):
                c = copy.deepcopy(spec)
                c["layers"][i][k] = w
                yield c
    shape = spec["input"]
    for j, v in enumerate(shape):
        for w in _simpler_values(v) if isinstance(v, int) else ([1] if isinstance(v, str) else []):
            if j == 1 and w == 0:
                continue
            c = copy.deepcopy(spec)
            c["input"][j] = w
            yield c


def shrink(spec: dict[str, Any], env: dict[str, int], still_bad: Callable[[dict[str, Any], dict[str, int]], bool],
           budget: int = 400) -> tuple[dict[str, Any], dict[str, int]]:
    """Greedy shrinking: keep any simpler case that still disagrees, until none does."""
    tries = 0
    improved = True
    while improved and tries < budget:
        improved = False
        for cand in _candidates(spec):
            tries += 1
            env_c = {k: v for k, v in env.items() if k in _symbols_of(cand)}
            if still_bad(cand, env_c):
                spec, env = cand, env_c
                improved = True
                break
            if tries >= budget:
                break
    return spec, env


def _symbols_of(spec: Mapping[str, Any]) -> set[str]:
    return {v for v in spec["input"] if isinstance(v, str)}


def disagrees(spec: dict[str, Any], env: dict[str, int]) -> bool:
    """Does this case disagree with torch at this size?"""
    try:
        o = compare(spec, envs=[env])
    except Exception:  # noqa: BLE001 - a crash is no disagreement of the kind being shrunk
        return False
    return bool(o.disagreements)


def to_yaml(spec: Mapping[str, Any], env: Mapping[str, int], note: str) -> str:
    """A regression file: the sizes where it disagreed in a `# sizes:` comment."""
    import yaml

    head = "".join(f"# {line}\n" for line in note.splitlines())
    head += f"# sizes: {yaml.safe_dump(dict(env), default_flow_style=True).strip()}\n"
    body = yaml.safe_dump({"name": spec.get("name", "Fuzz"), "input": spec["input"]}, default_flow_style=None,
                          sort_keys=False)
    body += "layers:\n" + "".join(
        "  - " + yaml.safe_dump(lay, default_flow_style=True, sort_keys=False, width=1000).strip() + "\n"
        for lay in spec["layers"])
    return head + body


def read_sizes(text: str) -> dict[str, int]:
    """The `# sizes: {H: 5}` comment of a regression file."""
    import yaml

    for line in text.splitlines():
        if line.startswith("# sizes:"):
            return dict(yaml.safe_load(line[len("# sizes:"):]) or {})
    return {}
