"""Repairs: edits of a network that make more input sizes valid (ideally every size), each one
checked by a full analysis of the edited network before it is offered, with the domain after it.

Where the domain restricts a size the usual causes and their edits are:
- a merge (``cat``, ``add``) whose branches agree only on multiples: resize one branch to the
  other's size before the merge (``F.interpolate(x, size=skip.shape[-2:])``), or ``ceil_mode=True``
  on the pools that drop a row, or pad the input to a multiple and crop the output back;
- a flatten into a Linear with fixed ``in_features``: an adaptive pool before the flatten;
- a size that must be large enough, or a multiple: pad the input (amounts as formulas).
The edits are made on the IR (:class:`~shapeplan.core.ir.Network`), so the edited network can
be written back as net.yaml; for an imported module the edit is also said in Python, at the
user's source line (the forward's line of the layer, or its constructor's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import networkx as nx

from ..core.dims import Dim, evaluate, floordiv, fmt, free_symbols, norm, sym
from ..core.errors import Location
from ..core.ir import Layer, Network
from ..core.sets import USet
from .check import run_check
from .domain.domain import Domain
from .report import Report

MERGES = frozenset({"cat", "concat", "concatenate", "stack", "add", "sub", "mul", "div", "maximum", "minimum"})
POOLS = frozenset({"MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
                   "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"})
FLATTENS = frozenset({"Flatten", "flatten", "view", "reshape"})
PASS_THROUGH = frozenset({"ReLU", "relu", "Dropout", "dropout", "Identity", "GELU", "gelu", "SiLU", "silu",
                          "Sigmoid", "sigmoid", "Tanh", "tanh", "contiguous", "clone", "LeakyReLU", "ReLU6"})
MAX_SINGLE_POOLS = 3  # pools tried one at a time
DENSITY = 256  # sizes 1..DENSITY of every symbol count when comparing domains


@dataclass
class Repair:
    """One edit: what to do (``edit``, in the network's own terms: YAML keys or Python), where
    (``location``: the user's line for an imported module), the edited network and its report."""

    kind: str  # "interpolate", "ceil-mode", "pad-input", "adaptive-pool"
    edit: str
    network: Network
    report: Report
    location: Location | None = None

    @property
    def domain(self) -> Domain:
        return self.report.domain

    @property
    def complete(self) -> bool:
        """Every size from some minimum on is valid (no multiple, no gap)."""
        return all(len(b[s].segs) == 1 and b[s].segs[0].period == 1 and b[s].segs[0].hi is None
                   for b in self.domain.boxes for s in self.domain.symbols) and not self.domain.residual

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location is not None else ""
        return f"{where}{self.edit} (then valid inputs: {self.domain})"


def density(domain: Domain) -> int:
    """How many sizes with every symbol in 1..DENSITY the domain's boxes hold."""
    total = 0
    for box in domain.boxes:
        n = 1
        for s in domain.symbols:
            n *= box[s].count(1, DENSITY)
        total += n
    return total


def find_repairs(rep: Report, limit: int = 4) -> list[Repair]:
    """Checked edits that make more sizes valid than ``rep``'s network takes, the best first
    (every size valid from some minimum on, then the most sizes)."""
    if rep.errors or rep.domain.empty:
        return []
    base = density(rep.domain)
    found: list[Repair] = []
    seen: set[str] = set()
    for kind, edit, net, loc in _candidates(rep):
        if edit in seen:
            continue
        seen.add(edit)
        try:
            after = run_check(net)
        except Exception:  # noqa: BLE001 - an edit the rules refuse is simply not a repair
            continue
        if after.errors or after.domain.empty or density(after.domain) <= base:
            continue
        found.append(Repair(kind, edit, net, after, loc))
    found.sort(key=lambda r: (not r.complete, -density(r.domain)))
    return found[:limit]


def restricted(rep: Report) -> bool:
    """Does a condition tie the sizes to multiples or to values (what a repair can lift)?"""
    return not rep.errors and not rep.domain.empty and bool(_restricting(rep))


def _candidates(rep: Report) -> Iterator[tuple[str, str, Network, Location | None]]:
    net = rep.network
    restricting = _restricting(rep)
    merges = [name for name, op in restricting if op in MERGES]
    linears = [name for name, op in restricting if op not in MERGES]
    if merges:
        yield from _resize_before(rep, merges)
        yield from _ceil_pools(net, merges)
    for name in linears:
        yield from _adaptive_pool(rep, name)
    yield from _pad_input(rep)


def _restricting(rep: Report) -> list[tuple[str, str]]:
    """The layers whose conditions tie the sizes to multiples or to values (eq, dvd), in order."""
    out: dict[str, str] = {}
    for c in rep.propagation.constraints:
        if c.cond.kind in ("eq", "dvd") and (free_symbols(c.cond.lhs) | free_symbols(c.cond.rhs)) \
                and c.layer in rep.network.by_name:
            out.setdefault(c.layer, c.op)
    return list(out.items())


# ----------------------------------------------------------------------------- edits of the IR


def _with_layers(net: Network, layers: Sequence[Layer], outputs: Sequence[str] | None = None) -> Network:
    return dataclasses.replace(net, layers=tuple(layers), outputs=tuple(outputs or net.outputs))


def _rename_input(layer: Layer, old: str, new: str) -> Layer:
    return dataclasses.replace(layer, inputs=tuple(new if i == old else i for i in layer.inputs))


def _fresh(net: Network, base: str) -> str:
    name, i = base, 1
    while name in net.by_name or name in net.inputs:
        name, i = f"{base}_{i}", i + 1
    return name


def _insert_before(net: Network, target: str, new: Layer, replaces: str) -> list[Layer]:
    """The layers with ``new`` placed just before ``target``, which reads it instead of ``replaces``."""
    out: list[Layer] = []
    for layer in net.layers:
        if layer.name == target:
            out += [new, _rename_input(layer, replaces, new.name)]
        else:
            out.append(layer)
    return out


def _torch(net: Network) -> bool:
    return net.origin == "torch"


# ----------------------------------------------------------------------------- resize before a merge


def _complexity(d: Dim) -> int:
    import sympy

    return 0 if isinstance(d, int) else int(sympy.count_ops(d)) + len(free_symbols(d))


def _resize_before(rep: Report, merges: list[str]) -> Iterator[tuple[str, str, Network, Location | None]]:
    """Before every restricting merge, ``F.interpolate`` the branch with the more complex size
    formula (the up-sampled one) to the size of the other (the skip)."""
    net = rep.network
    layers = list(net.layers)
    said: list[str] = []
    loc = None
    for merge in merges:
        layer = net.by_name[merge]
        shapes = [rep.shapes.get(i) for i in layer.inputs]
        if len(layer.inputs) != 2 or any(s is None or len(s) < 3 for s in shapes):
            continue
        a, b = shapes[0], shapes[1]
        assert a is not None and b is not None
        which = 0 if sum(map(_complexity, a[2:])) >= sum(map(_complexity, b[2:])) else 1
        src, ref = layer.inputs[which], layer.inputs[1 - which]
        size = list((b if which == 0 else a)[2:])
        resized = Layer(_fresh(net, f"{merge}_resize"), "interpolate", (src,), (), {"size": size, "mode": "nearest"},
                        locs=dict(layer.locs))
        layers = [x for y in layers for x in ([resized, _rename_input(y, src, resized.name)] if y.name == merge
                                              else [y])]
        if _torch(net):
            said.append(f"before {layer.op}: `t = F.interpolate(t, size=s.shape[-{len(size)}:])` where t is the output "
                        f"of {src} and s the output of {ref}")
            loc = loc or layer.loc()
        else:
            said.append(f"resize {src} to {ref}'s size before {merge} (insert {{name: {resized.name}, op: interpolate, "
                        f"from: {src}, size: [{', '.join(fmt(d) for d in size)}]}})")
    if said:
        yield "interpolate", "; ".join(said), _with_layers(net, layers), loc


# ----------------------------------------------------------------------------- pools that drop a row


def _ceil_pools(net: Network, merges: list[str]) -> Iterator[tuple[str, str, Network, Location | None]]:
    """``ceil_mode=True`` on the floor-mode pools upstream of the restricting merges: all of them,
    then each alone (the nearest first)."""
    up: set[str] = set()
    for m in merges:
        up |= nx.ancestors(net.graph, m)
    pools = [layer for layer in net.layers if layer.name in up and layer.op in POOLS
             and not layer.kwargs.get("ceil_mode", False) and "ceil_mode" not in _positional(layer)]
    groups = ([pools] if len(pools) > 1 else []) + [[p] for p in reversed(pools)][:MAX_SINGLE_POOLS]
    for group in groups:
        edited = {p.name for p in group}
        layers = [dataclasses.replace(x, kwargs={**x.kwargs, "ceil_mode": True}) if x.name in edited else x
                  for x in net.layers]
        names = ", ".join(p.name for p in group)
        if _torch(net):
            edit = f"pass ceil_mode=True to {'the pools that drop a row: ' if len(group) > 1 else ''}{names} " \
                   f"(nn.{group[0].op}(..., ceil_mode=True))"
        else:
            edit = f"set ceil_mode: true on {names}"
        yield "ceil-mode", edit, _with_layers(net, layers), group[0].loc("module", "ceil_mode")


def _positional(layer: Layer) -> set[str]:
    from ..ops import REGISTRY

    spec = REGISTRY.get(layer.op)
    return {p.name for p in spec.params[: len(layer.args)]} if spec is not None else set()


# ----------------------------------------------------------------------------- adaptive pool before a flatten


def _adaptive_pool(rep: Report, linear: str) -> Iterator[tuple[str, str, Network, Location | None]]:
    """An adaptive average pool before the flatten that feeds ``linear``, to the size the flatten
    sees at the smallest valid input (so the Linear keeps its in_features)."""
    net = rep.network
    node = net.by_name[linear]
    while node.inputs and node.inputs[0] in net.by_name and node.op not in FLATTENS:
        node = net.by_name[node.inputs[0]]
    if node.op not in FLATTENS or not node.inputs:
        return
    src = node.inputs[0]
    shape = rep.shapes.get(src)
    small = rep.domain.smallest()
    if shape is None or small is None or not 3 <= len(shape) <= 5:
        return
    try:
        size = tuple(evaluate(d, small) for d in shape[2:])
    except (KeyError, ValueError, TypeError):
        return
    op = f"AdaptiveAvgPool{len(size)}d"
    pool = Layer(_fresh(net, f"{node.name}_pool"), op, (src,), (), {"output_size": list(size)}, locs=dict(node.locs))
    layers = _insert_before(net, node.name, pool, src)
    if _torch(net):
        edit = f"insert nn.{op}({size if len(size) > 1 else size[0]}) before {node.name} ({node.op})"
    else:
        edit = f"insert {{name: {pool.name}, op: {op}, output_size: {list(size)}}} before {node.name}"
    yield "adaptive-pool", edit, _with_layers(net, layers), node.loc()


# ----------------------------------------------------------------------------- pad the input, crop the output


def _target(u: USet) -> tuple[int, int] | None:
    """(period, residue) of the sizes to pad to: the unbounded last segment of ``u``, when it is
    periodic (a threshold alone is not a reason to pad); residue 0 where it has it."""
    if not u.segs or u.segs[-1].hi is not None or u.segs[-1].period == 1:
        return None
    seg = u.segs[-1]
    return seg.period, 0 if 0 in seg.residues else min(seg.residues)


def pad_amount(name: str, period: int, residue: int) -> Dim:
    """How much to add to ``name`` to reach the next size ``period*k + residue``:
    ``16*((H + 15)//16) - H`` for the multiples of 16."""
    x = sym(name)
    return norm(residue - x + period * floordiv(x - residue + period - 1, period))


def _pad_input(rep: Report) -> Iterator[tuple[str, str, Network, Location | None]]:
    """Pad the (one) input at its trailing symbolic dims to the next valid size, and crop the
    outputs back to their size at the original input."""
    net = rep.network
    if len(net.inputs) != 1 or not rep.domain.boxes:
        return
    (inp, shape), = net.inputs.items()
    box = max(rep.domain.boxes, key=lambda b: density(Domain(rep.domain.symbols, [b])))
    pads: dict[int, Dim] = {}
    for axis in range(len(shape) - 1, 1, -1):
        d = shape[axis]
        t = _target(box[str(d)]) if getattr(d, "is_Symbol", False) and str(d) in box else None
        if t is not None:
            pads[axis] = pad_amount(str(d), *t)
    if not pads:
        return
    first = min(pads)
    flat: list[Dim] = []
    for axis in range(len(shape) - 1, first - 1, -1):
        flat += [0, pads.get(axis, 0)]
    pad = Layer(_fresh(net, "pad_input"), "pad", (inp,), (), {"pad": flat})
    layers = [pad] + [_rename_input(x, inp, pad.name) for x in net.layers]
    outputs, crops = _crops(net, rep, layers, pads)
    amounts = ", ".join(f"{shape[a]} by {fmt(p)}" for a, p in sorted(pads.items()))
    names = [str(shape[a]) for a in sorted(pads)]
    if _torch(net):
        edit = (f"pad the input at the top of forward: `{', '.join(names)} = {inp}.shape[-{len(shape) - first}:]"
                f"{'' if len(names) == len(shape) - first else ' (the others unused)'}; {inp} = F.pad({inp}, "
                f"({', '.join(fmt(v) for v in flat)}))`" + (f", and crop the output ({crops})" if crops else ""))
    else:
        edit = f"pad the input ({amounts})" + (f" and crop the output ({crops})" if crops else "")
    yield "pad-input", edit, _with_layers(net, layers, outputs), None


def _crops(net: Network, rep: Report, layers: list[Layer], pads: dict[int, Dim]) -> tuple[list[str], str]:
    """Narrow each output back to its size at the unpadded input (where its size is a formula of
    a padded symbol: ``16*(H//16)`` is ``H`` wherever the network was valid); the new outputs
    and the crops in words."""
    from .exportable import same_on

    padded = {str(next(iter(net.inputs.values()))[a]) for a in pads}
    outputs: list[str] = []
    said: list[str] = []
    for o in net.outputs:
        shape = rep.shapes.get(o)
        cur = o
        for axis, d in enumerate(shape or ()):
            if isinstance(d, int) or not (free_symbols(d) & padded) or axis == 0:
                continue
            d = next((sym(s) for s in sorted(free_symbols(d))
                      if all(same_on(box, d, sym(s)) for box in rep.domain.boxes)), d)
            crop = Layer(f"{cur}_crop{axis}", "narrow", (cur,), (), {"dim": axis, "start": 0, "length": d})
            layers.append(crop)
            said.append(f"dim {axis} of {o} to {fmt(d)}")
            cur = crop.name
        outputs.append(cur)
    return outputs, ", ".join(said)
