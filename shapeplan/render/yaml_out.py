"""A Network as net.yaml text that :func:`shapeplan.load` reads back to the same network.

One layer per line, as a flow mapping: ``- {name: conv1, op: Conv2d, in_channels: 3, ...}``;
``from`` only where a layer does not read the layer above it.  Symbolic sizes are written
as size expressions (``H//4 - 3``), which the YAML front end parses back exactly.  Every
scalar goes through PyYAML's safe dumper, so names and strings are quoted as needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy
import yaml

from ..core.dims import fmt
from ..core.ir import Layer, Network
from ..ops import REGISTRY
from ..ops.params import REQUIRED


def _same(conv: Any, a: Any, b: Any) -> bool:
    try:
        return bool(conv(a) == conv(b))
    except Exception:  # noqa: BLE001 - a value the converter refuses is never "the same"
        return False


def _arguments(layer: Layer) -> dict[str, Any]:
    """The layer's keyword arguments without those equal to the op's defaults, and
    ``[5, 5]`` written as ``5`` where the op takes one value for all dims."""
    spec = REGISTRY.get(layer.op)
    out: dict[str, Any] = {}
    for k, v in layer.kwargs.items():
        p = spec.param(k) if spec else None
        if p is not None and p.default is not REQUIRED and _same(p.conv, v, p.default):
            continue
        if (p is not None and isinstance(v, (list, tuple)) and len(v) > 1 and all(x == v[0] for x in v)
                and isinstance(v[0], int) and _same(p.conv, v[0], v)):
            v = v[0]
        out[k] = v
    return out


def _value(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, (int, float, str)):
        return v
    if isinstance(v, sympy.Integer):
        return int(v)
    if isinstance(v, sympy.Expr):
        return fmt(v)
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _value(x) for k, x in v.items()}
    raise TypeError(f"cannot write {type(v).__name__} {v!r} to YAML")


def _flow(v: Any) -> str:
    text: str = yaml.safe_dump(v, default_flow_style=True, width=1 << 30, sort_keys=False, allow_unicode=False)
    return text.strip().removesuffix("...").strip()


def _entry(layer: Layer, local: str, inputs: list[str], prev: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": local, "op": layer.op}
    if inputs != ([prev] if prev is not None else []) and inputs:
        entry["from"] = inputs[0] if len(inputs) == 1 else list(inputs)
    if layer.args:
        entry["args"] = _value(list(layer.args))
    for k, v in _arguments(layer).items():
        entry[k] = _value(v)
    if layer.expect is not None:
        entry["expect"] = _value(list(layer.expect))
    return entry


@dataclass(frozen=True)
class _Instance:
    prefix: str
    start: int
    end: int  # inclusive
    source: str  # the one tensor it reads from outside
    rows: tuple[dict[str, Any], ...]  # the layers as block entries (local names, `x` for the source)

    @property
    def skeleton(self) -> str:
        """The structure with every integer argument blanked: instances that differ only in
        sizes (channels, strides) share it and become one block with parameters."""
        return repr([{k: ("#" if _is_int(v) and k not in ("name", "from") else v) for k, v in r.items()}
                     for r in self.rows])

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(v for r in self.rows for k, v in r.items() if _is_int(v) and k not in ("name", "from"))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _instances(net: Network) -> list[_Instance]:
    """Runs of layers under one name prefix (``layer1.0.*``) that read one tensor from
    outside and are read from outside only through their last layer: candidate blocks."""
    spans: dict[str, list[int]] = {}
    for i, layer in enumerate(net.layers):
        parts = layer.name.split(".")
        for k in range(1, len(parts)):
            spans.setdefault(".".join(parts[:k]), []).append(i)
    readers: dict[str, set[str]] = {}
    for layer in net.layers:
        for src in layer.inputs:
            readers.setdefault(src, set()).add(layer.name)
    taken = set(net.by_name) | set(net.inputs)
    out: list[_Instance] = []
    for prefix, idx in spans.items():
        start, end = idx[0], idx[-1]
        if len(idx) < 2 or end - start + 1 != len(idx) or prefix in taken:
            continue
        members = net.layers[start:end + 1]
        names = {m.name for m in members}
        outside = list(dict.fromkeys(src for m in members for src in m.inputs if src not in names))
        if len(outside) != 1 or any(
            (readers.get(m.name, set()) - names) or m.name in net.outputs for m in members[:-1]
        ):
            continue
        cut = len(prefix) + 1
        if any(m.name[cut:] == "x" or not m.name[cut:].split(".")[0].isidentifier() for m in members):
            continue  # local names must be valid inside a block (`0.conv1` is not)
        rows: list[dict[str, Any]] = []
        prev: str | None = "x"
        for m in members:
            ins = [("x" if src == outside[0] else src[cut:]) for src in m.inputs]
            rows.append(_entry(m, m.name[cut:], ins, prev))
            prev = m.name[cut:]
        out.append(_Instance(prefix, start, end, outside[0], tuple(rows)))
    return out


@dataclass
class _Block:
    name: str
    instances: list[_Instance]
    params: dict[str, list[int]]  # parameter name -> positions in _Instance.values

    def args(self, inst: _Instance) -> dict[str, int]:
        vals = inst.values
        return {p: vals[pos[0]] for p, pos in self.params.items()}

    def text(self) -> list[str]:
        first = self.instances[0]
        where = {pos: p for p, ps in self.params.items() for pos in ps}
        lines = [f"  {self.name}:                       # as {', '.join(i.prefix for i in self.instances[:4])}"
                 + (" ..." if len(self.instances) > 4 else "")]
        if self.params:
            lines.append(f"    params: {_flow(dict.fromkeys(self.params))}")
        lines.append("    layers:")
        n = 0
        for row in first.rows:
            entry = {}
            for k, v in row.items():
                if _is_int(v) and k not in ("name", "from"):
                    entry[k] = where.get(n, v)
                    n += 1
                else:
                    entry[k] = v
            lines.append(f"      - {_flow(entry)}")
        return lines


def _make_block(name: str, insts: list[_Instance]) -> _Block:
    vectors = [i.values for i in insts]
    params: dict[str, list[int]] = {}
    seen: dict[tuple[int, ...], str] = {}
    keys = [(r["name"], k) for r in insts[0].rows for k, v in r.items() if _is_int(v) and k not in ("name", "from")]
    for pos in range(len(vectors[0])):
        column = tuple(v[pos] for v in vectors)
        if len(set(column)) == 1:
            continue
        if column in seen:
            params[seen[column]].append(pos)
            continue
        layer, key = keys[pos]
        pname = "".join(c if c.isalnum() else "_" for c in f"{layer}_{key}").strip("_")
        if not pname or not pname[0].isalpha():
            pname = "p_" + pname
        base, i = pname, 1
        while pname in params:
            pname = f"{base}_{i}"
            i += 1
        seen[column] = pname
        params[pname] = [pos]
    return _Block(name, insts, params)


def _plan_blocks(net: Network) -> tuple[dict[int, tuple[str, _Block, int, _Instance]], list[_Block]]:
    """Which layers become block uses: {index of the first layer: (name, block, repeat,
    instance)}.  A structure (up to its sizes) is a block when it occurs at least twice;
    consecutive instances ``P.0``, ``P.1``, ... with the same sizes, chained one into the
    next, become one use with ``repeat``."""
    cands = sorted(_instances(net), key=lambda c: (c.prefix.count("."), c.start))
    by_skel: dict[str, list[_Instance]] = {}
    for c in cands:
        by_skel.setdefault(c.skeleton, []).append(c)
    covered: set[int] = set()
    chosen: list[_Instance] = []
    for c in cands:
        if len(by_skel[c.skeleton]) < 2 or any(i in covered for i in range(c.start, c.end + 1)):
            continue
        chosen.append(c)
        covered.update(range(c.start, c.end + 1))
    chosen.sort(key=lambda c: c.start)
    groups: dict[str, list[_Instance]] = {}
    for c in chosen:
        groups.setdefault(c.skeleton, []).append(c)
    blocks = {sk: _make_block(f"block{n + 1}", insts) for n, (sk, insts) in enumerate(groups.items())}
    uses: dict[int, tuple[str, _Block, int, _Instance]] = {}
    i = 0
    while i < len(chosen):
        c = chosen[i]
        parent, _, idx = c.prefix.rpartition(".")
        run = [c]
        if parent and idx == "0" and parent not in net.by_name:
            while i + len(run) < len(chosen):
                nxt = chosen[i + len(run)]
                if (nxt.prefix != f"{parent}.{len(run)}" or nxt.skeleton != c.skeleton or nxt.values != c.values
                        or nxt.start != run[-1].end + 1 or nxt.source != net.layers[run[-1].end].name):
                    break
                run.append(nxt)
        if len(run) > 1:
            uses[c.start] = (parent, blocks[c.skeleton], len(run), run[-1])
        else:
            uses[c.start] = (c.prefix, blocks[c.skeleton], 1, c)
        i += len(run)
    return uses, list(blocks.values())


def to_yaml(net: Network, *, header: str | None = None, blocks: bool = True) -> str:
    """The network as net.yaml text (see the module docstring); with ``blocks``, a
    structure that repeats (``layer1.0``, ``layer1.1``) is written once as a block."""
    lines: list[str] = []
    if header:
        lines += [f"# {h}".rstrip() for h in header.splitlines()]
    lines.append(f"name: {_flow(net.name)}")
    inputs = {k: [_value(d) for d in v] for k, v in net.inputs.items()}
    if list(inputs) == ["x"]:
        lines.append(f"input: {_flow(inputs['x'])}")
    else:
        lines.append("inputs:")
        for k, v in inputs.items():
            lines.append(f"  {_flow(k)}: {_flow(v)}")
    bounded = {k: s for k, s in net.symbols.items() if s.min != 1 or s.max is not None}
    if bounded:
        lines.append("symbols:")
        for k, s in bounded.items():
            b: dict[str, int] = {"min": s.min}
            if s.max is not None:
                b["max"] = s.max
            lines.append(f"  {k}: {_flow(b)}")
    uses, found = _plan_blocks(net) if blocks else ({}, [])
    if found:
        lines.append("blocks:")
        for blk in found:
            lines += blk.text()
    lines.append("layers:")
    rename: dict[str, str] = {}
    prev = next(iter(net.inputs), None)
    skip_to = -1
    for i, layer in enumerate(net.layers):
        if i <= skip_to:
            continue
        use = uses.get(i)
        if use is not None:
            name, blk, repeat, last_inst = use
            entry: dict[str, Any] = {"name": name, "block": blk.name}
            src = rename.get(net.layers[i].name, None)
            first_source = next(inst.source for inst in blk.instances if inst.start == i)
            src = rename.get(first_source, first_source)
            if src != prev:
                entry["from"] = src
            if repeat > 1:
                entry["repeat"] = repeat
            entry.update(blk.args(last_inst))
            lines.append(f"  - {_flow(entry)}")
            rename[net.layers[last_inst.end].name] = name
            prev = name
            skip_to = last_inst.end
            continue
        ins = [rename.get(s, s) for s in layer.inputs]
        lines.append(f"  - {_flow(_entry(layer, layer.name, ins, prev))}")
        prev = layer.name
    last = net.layers[-1].name if net.layers else None
    outs = [rename.get(o, o) for o in net.outputs]
    if list(net.outputs) != ([last] if last else []):
        lines.append(f"outputs: {_flow(outs)}")
    return "\n".join(lines) + "\n"
