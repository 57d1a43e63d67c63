"""The neutral model of the layer graph, shared by every picture format: nodes (inputs,
layers with their op and key arguments, outputs), edges labelled with the symbolic shape
that flows along them, clusters of block-scoped names, and user text with its control
characters made visible (each writer then applies its own escaping).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ...analysis.report import Report, shape_text
from ...core.dims import fmt

NodeKind = Literal["input", "layer", "output"]

MAX_ARG_CHARS = 40

@dataclass(frozen=True)
class Node:
    """An input, a layer or an output sink, with what its label shows."""

    id: str  # a safe identifier, distinct for distinct nodes
    name: str  # the input / layer name as written ("output" for an output sink)
    kind: NodeKind
    detail: str  # op and key arguments ("Conv2d 3->16 k3 s2"), or "input" / the output's source
    severity: str | None = None  # "error" / "warning" when a diagnostic names this layer
    problems: tuple[str, ...] = ()  # "error[in-features]", ...
    messages: tuple[str, ...] = ()  # the diagnostics' messages (tooltips)


@dataclass(frozen=True)
class Edge:
    """A tensor flowing from one node to another."""

    src: str  # node ids
    dst: str
    label: str  # the symbolic shape flowing along the edge


@dataclass
class Cluster:
    """The nodes whose names share a dotted prefix (a block instance), and nested clusters."""

    prefix: str  # "layer1.0"
    nodes: list[str] = field(default_factory=list)  # node ids directly inside
    children: list[Cluster] = field(default_factory=list)


@dataclass
class GraphModel:
    """The whole picture: a title, a subtitle (the valid inputs), nodes, edges, clusters."""

    title: str
    subtitle: str
    nodes: list[Node]
    edges: list[Edge]
    root: Cluster  # prefix "": the top level


# --------------------------------------------------------------------------- key arguments

# key arguments shown in a node label: (parameter, prefix); a value equal to the op's
# default is left out.  Channels / features are shown as "in->out".
_PAIRS = (("in_channels", "out_channels"), ("in_features", "out_features"), ("in1_features", "out_features"))
_KEYS = (
    ("num_features", ""), ("normalized_shape", ""), ("num_groups", "groups="), ("num_channels", "ch="),
    ("kernel_size", "k"), ("stride", "s"), ("padding", "p"), ("dilation", "d"), ("groups", "g"),
    ("output_padding", "op"), ("output_size", "out="), ("size", "size="), ("scale_factor", "x"),
    ("upscale_factor", "r"), ("downscale_factor", "r"), ("mode", ""), ("p", "p="), ("dim", "dim="),
    ("dims", "dims="), ("dim0", "dim0="), ("dim1", "dim1="), ("start_dim", "start="), ("end_dim", "end="),
    ("shape", ""), ("sizes", ""), ("unflattened_size", ""), ("pad", "pad="), ("ceil_mode", "ceil="),
)


_PAIRWISE = frozenset({"kernel_size", "stride", "padding", "dilation", "output_padding", "output_size", "scale_factor"})


def _value_text(v: Any, collapse: bool = False) -> str:
    if isinstance(v, (list, tuple)):
        items = [_value_text(x) for x in v]
        if collapse and len(set(items)) == 1:
            return items[0]  # kernel_size (3, 3) -> 3
        if collapse and items:
            return "x".join(items)  # (3, 5) -> 3x5
        return "(" + ", ".join(items) + ")"
    if isinstance(v, float):
        return f"{v:g}"
    return fmt(v)


def _short(text: str, limit: int = MAX_ARG_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _defaults(op: str) -> dict[str, Any]:
    from ...ops import REGISTRY
    from ...ops.params import REQUIRED

    spec = REGISTRY.get(op)
    out: dict[str, Any] = {}
    if spec is None:
        return out
    for p in spec.params:
        if p.default is REQUIRED:
            continue
        out[p.name] = p.default
        try:
            out[p.name + "\0conv"] = p.conv(p.default)
        except Exception:  # noqa: BLE001 - a default the converter rejects (None ...): keep the raw one
            pass
    return out


def key_args(op: str, args: Mapping[str, Any]) -> str:
    """A short summary of a layer's arguments: ``3->16 k3 s2``; defaults are left out."""
    defaults = _defaults(op)
    parts: list[str] = []
    for a, b in _PAIRS:
        if a in args and b in args:
            parts.append(f"{_short(_value_text(args[a]))}->{_value_text(args[b])}")
    for name, prefix in _KEYS:
        if name not in args or args[name] is None:
            continue
        v = args[name]
        if name in defaults and (v == defaults[name] or v == defaults.get(name + "\0conv", object())):
            continue
        parts.append(prefix + _short(_value_text(v, name in _PAIRWISE)))
    return " ".join(parts)


# --------------------------------------------------------------------------- clusters and the model


def _clusters(names: Sequence[tuple[str, str]]) -> Cluster:
    """Group node ids by the dotted prefixes of their names where a prefix repeats."""
    count: dict[str, int] = {}
    for _, name in names:
        for p in _prefixes(name):
            count[p] = count.get(p, 0) + 1
    chosen = {p for p, c in count.items() if c >= 2}
    # a cluster whose members all sit in one child cluster adds nothing: drop it
    for p in sorted(chosen, key=len):
        kids = [c for c in chosen if c.startswith(p + ".") and _parent(c, chosen) == p]
        if len(kids) == 1 and count[kids[0]] == count[p]:
            chosen.discard(p)
    root = Cluster("")
    by_prefix: dict[str, Cluster] = {"": root}
    for p in sorted(chosen, key=lambda s: (s.count("."), s)):
        c = Cluster(p)
        by_prefix[p] = c
        by_prefix[_parent(p, chosen)].children.append(c)
    for node_id, name in names:
        inner = max((p for p in _prefixes(name) if p in chosen), key=len, default="")
        by_prefix[inner].nodes.append(node_id)
    return root


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [p for i in range(1, len(parts)) if (p := ".".join(parts[:i])) and not p.endswith(".")]


def _parent(prefix: str, chosen: set[str]) -> str:
    return max((p for p in _prefixes(prefix) if p in chosen), key=len, default="")


def graph_model(report: Report) -> GraphModel:
    """The layer graph of ``report`` as neutral data: nodes, shape-labelled edges, clusters."""
    net = report.network
    shapes = report.shapes
    problems: dict[str, list[tuple[str, str]]] = {}
    for d in report.diagnostics:
        if d.layer is not None and d.severity in ("error", "warning"):
            problems.setdefault(d.layer, []).append((d.severity, f"{d.severity}[{d.code}]: {d.message}"))
    nodes: list[Node] = []
    ids: dict[str, str] = {}

    def severity(name: str) -> str | None:
        sev = {s for s, _ in problems.get(name, [])}
        return "error" if "error" in sev else ("warning" if sev else None)

    def probs(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        found = problems.get(name, [])
        return tuple(m.split(":", 1)[0] for _, m in found), tuple(m for _, m in found)

    for i, name in enumerate(net.inputs):
        ids[name] = f"i{i}"
        nodes.append(Node(f"i{i}", name, "input", "input", severity(name), *probs(name)))
    for i, li in enumerate(report.layers):
        ids[li.name] = f"n{i}"
        detail = f"{li.op} {key_args(li.op, li.args)}".rstrip()
        nodes.append(Node(f"n{i}", li.name, "layer", detail, severity(li.name), *probs(li.name)))
    edges: list[Edge] = []
    for li in report.layers:
        for src in li.inputs:
            if src not in ids:  # a name that is neither an input nor a layer
                ids[src] = f"m{len(ids)}"
                nodes.append(Node(ids[src], src, "input", "unknown", "error", ("error[unknown]",)))
            edges.append(Edge(ids[src], ids[li.name], shape_text(shapes.get(src))))
    for k, out in enumerate(net.outputs):
        rid = f"r{k}"
        label = "output" if len(net.outputs) == 1 else f"output {k}"
        nodes.append(Node(rid, label, "output", out))
        if out in ids:
            edges.append(Edge(ids[out], rid, shape_text(shapes.get(out))))
    root = _clusters([(n.id, n.name) for n in nodes if n.kind == "layer"])
    root.nodes = [n.id for n in nodes if n.kind != "layer"] + root.nodes
    if report.errors:
        n = len(report.errors)
        subtitle = f"valid inputs: none ({n} error{'s' if n != 1 else ''})"
    else:
        subtitle = f"valid inputs: {report.domain}"
    return GraphModel(net.name, subtitle, nodes, edges, root)


# --------------------------------------------------------------------------- text cleaning


def _visible(ch: str) -> str:
    """Control, format and surrogate characters as visible escapes (no raw control bytes)."""
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cs", "Co", "Cn") or (cat == "Cf" and ch not in "\u200d"):
        return f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"
    return ch


def clean_text(text: str) -> str:
    """``text`` with control, format and surrogate characters as visible escapes: the first
    step of every writer's escaping."""
    return "".join(_visible(c) for c in text)
