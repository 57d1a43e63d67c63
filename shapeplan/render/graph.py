"""Pictures of the layer graph: Graphviz DOT, SVG (through Graphviz's ``dot``), Mermaid.

One neutral model (:func:`graph_model`: nodes, edges labelled with the symbolic shape that
flows along them, clusters of block-scoped names) and one writer per format.  Every piece
of user text (layer names, ops, shapes, messages) goes through the format's own escaping:
DOT gets HTML-like labels (XML entities, non-ASCII as numeric references) and synthetic
node ids; Mermaid gets entity codes (``#34;``) for anything but plain ASCII letters, digits
and harmless punctuation, and ids ``i0``/``n0``/``r0`` that are safe for its grammar.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..analysis.report import Report, shape_text
from ..core.dims import fmt
from ..core.errors import ShapeplanError

NodeKind = Literal["input", "layer", "output"]

DOT_TIMEOUT_S = 60.0
MAX_ARG_CHARS = 40


@dataclass(frozen=True)
class Node:
    id: str  # a safe identifier, distinct for distinct nodes
    name: str  # the input / layer name as written ("output" for an output sink)
    kind: NodeKind
    detail: str  # op and key arguments ("Conv2d 3->16 k3 s2"), or "input" / the output's source
    severity: str | None = None  # "error" / "warning" when a diagnostic names this layer
    problems: tuple[str, ...] = ()  # "error[in-features]", ...
    messages: tuple[str, ...] = ()  # the diagnostics' messages (tooltips)


@dataclass(frozen=True)
class Edge:
    src: str  # node ids
    dst: str
    label: str  # the symbolic shape flowing along the edge


@dataclass
class Cluster:
    prefix: str  # "layer1.0"
    nodes: list[str] = field(default_factory=list)  # node ids directly inside
    children: list[Cluster] = field(default_factory=list)


@dataclass
class GraphModel:
    title: str
    subtitle: str
    nodes: list[Node]
    edges: list[Edge]
    root: Cluster  # prefix "": the top level


# --------------------------------------------------------------------------- the model

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
    from ..ops import REGISTRY
    from ..ops.params import REQUIRED

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


def _clean(text: str) -> str:
    return "".join(_visible(c) for c in text)


# --------------------------------------------------------------------------- DOT

_COLORS = {
    "input": ("#d8f0d8", "#2e7d32"),
    "output": ("#d6e4f5", "#1f5fa8"),
    "layer": ("#ffffff", "#555555"),
    "error": ("#f9d0d0", "#c00000"),
    "warning": ("#fff0c8", "#c07000"),
}


def dot_html(text: str) -> str:
    """``text`` for a Graphviz HTML-like label: XML entities, non-ASCII as numeric references,
    and ``\\`` doubled (Graphviz expands ``\\N``, ``\\G``... even in HTML-like labels, after
    decoding entities, so only a doubled backslash stays one backslash)."""
    out = []
    for ch in _clean(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch in "&<>\"'":
            out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[ch])
        elif ord(ch) > 126:
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def dot_string(text: str) -> str:
    """``text`` as a DOT quoted string for an escString attribute (tooltip): ``\\``, ``"``,
    newlines escaped; ``&`` as ``&amp;`` (Graphviz expands entities in strings); ASCII only."""
    out = []
    for ch in _clean(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "&":
            out.append("&amp;")
        elif ord(ch) > 126:
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _dot_node(n: Node) -> str:
    fill, line = _COLORS[n.severity or n.kind]
    rows = [f"<B>{dot_html(n.name)}</B>", dot_html(n.detail)]
    rows += [f'<FONT COLOR="{_COLORS[n.severity or "error"][1]}">{dot_html(p)}</FONT>' for p in n.problems]
    attrs = [f"label=<{'<BR/>'.join(rows)}>", f'fillcolor="{fill}"', f'color="{line}"']
    if n.kind == "input":
        attrs.append("shape=invhouse")
    elif n.kind == "output":
        attrs.append("shape=house")
    if n.severity:
        attrs.append("penwidth=2")
    if n.messages:
        attrs.append("tooltip=" + dot_string("\n".join(n.messages)))
    return f"{n.id} [{', '.join(attrs)}];"


def _dot_cluster(c: Cluster, by_id: Mapping[str, Node], counter: list[int], indent: str) -> list[str]:
    lines = [indent + _dot_node(by_id[i]) for i in c.nodes]
    for child in c.children:
        counter[0] += 1
        lines.append(f"{indent}subgraph cluster_{counter[0]} {{")
        inner = indent + "  "
        lines.append(f'{inner}label=<{dot_html(child.prefix)}>; style="rounded,dashed"; color="#9a9a9a"; '
                     'fontcolor="#666666"; fontsize=9; labeljust=l;')
        lines += _dot_cluster(child, by_id, counter, inner)
        lines.append(indent + "}")
    return lines


def _lines(text: str, width: int = 100) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def model_to_dot(m: GraphModel) -> str:
    by_id = {n.id: n for n in m.nodes}
    lines = [
        "digraph shapeplan {",
        f'  graph [rankdir=TB, fontname="Helvetica", fontsize=12, labelloc=t, newrank=true, '
        f"label=<<B>{dot_html(m.title)}</B><BR/>{'<BR/>'.join(dot_html(t) for t in _lines(m.subtitle))}>];",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, margin="0.12,0.04"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555", fontcolor="#333333"];',
    ]
    lines += _dot_cluster(m.root, by_id, [0], "  ")
    for e in m.edges:
        lines.append(f"  {e.src} -> {e.dst} [label=<{dot_html(e.label)}>];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_dot(report: Report) -> str:
    """The layer graph as Graphviz DOT text (ASCII; lay it out with ``dot -Tsvg``)."""
    return model_to_dot(graph_model(report))


def to_svg(report: Report, timeout: float = DOT_TIMEOUT_S) -> str:
    """The layer graph as SVG, laid out by Graphviz's ``dot`` program (which must be installed)."""
    exe = shutil.which("dot")
    if exe is None:
        raise ShapeplanError(
            "the Graphviz `dot` program is needed for SVG output, and it was not found on PATH",
            code="graphviz-missing",
            hint="install graphviz (apt-get install graphviz / brew install graphviz), "
                 "or use --format dot / --format mermaid",
        )
    try:
        proc = subprocess.run([exe, "-Tsvg"], input=to_dot(report).encode("ascii"),  # noqa: S603
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ShapeplanError(f"Graphviz `dot` took longer than {timeout:g} s", code="graphviz",
                             hint="use --format dot and lay the graph out separately") from None
    except OSError as e:
        raise ShapeplanError(f"could not run Graphviz `dot`: {e}", code="graphviz",
                             hint="check the graphviz installation, or use --format dot / --format mermaid") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise ShapeplanError(f"Graphviz `dot` failed (exit {proc.returncode}): {err}", code="graphviz",
                             hint="this is likely a bug in shapeplan; --format dot shows the input it got")
    return proc.stdout.decode("utf-8")


# --------------------------------------------------------------------------- Mermaid

_MERMAID_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,_+*/=:?!-()")


def mermaid_text(text: str) -> str:
    """``text`` for a quoted Mermaid label: everything but plain ASCII as ``#<code>;``."""
    return "".join(c if c in _MERMAID_SAFE else f"#{ord(c)};" for c in _clean(text))


_MERMAID_SHAPES = {"input": ('(["', '"])'), "output": ('[["', '"]]'), "layer": ('["', '"]')}


def model_to_mermaid(m: GraphModel) -> str:
    lines = ["flowchart TD"]
    for n in m.nodes:
        open_, close = _MERMAID_SHAPES[n.kind]
        rows = [f"<b>{mermaid_text(n.name)}</b>", mermaid_text(n.detail)]
        rows += [mermaid_text(p) for p in n.problems]
        lines.append(f"    {n.id}{open_}{'<br/>'.join(rows)}{close}")
    for e in m.edges:
        lines.append(f'    {e.src} -->|"{mermaid_text(e.label)}"| {e.dst}')
    lines.append("    classDef input fill:#d8f0d8,stroke:#2e7d32")
    lines.append("    classDef output fill:#d6e4f5,stroke:#1f5fa8")
    lines.append("    classDef error fill:#f9d0d0,stroke:#c00000,stroke-width:2px")
    lines.append("    classDef warning fill:#fff0c8,stroke:#c07000,stroke-width:2px")
    for cls, ids in _classes(m.nodes).items():
        lines.append(f"    class {','.join(ids)} {cls}")
    return "\n".join(lines) + "\n"


def _classes(nodes: Iterable[Node]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n in nodes:
        cls = n.severity or (n.kind if n.kind != "layer" else None)
        if cls:
            out.setdefault(cls, []).append(n.id)
    return out


def to_mermaid(report: Report) -> str:
    """The layer graph as a Mermaid flowchart (ASCII text; renders on GitHub and in Markdown)."""
    return model_to_mermaid(graph_model(report))


FORMATS = {"dot": to_dot, "mermaid": to_mermaid, "svg": to_svg}

__all__ = ["FORMATS", "GraphModel", "graph_model", "key_args", "to_dot", "to_mermaid", "to_svg"]
