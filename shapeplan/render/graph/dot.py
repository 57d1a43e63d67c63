"""The layer graph as Graphviz DOT text, and as SVG laid out by Graphviz's ``dot`` program.

Every piece of user text goes through DOT's own escaping: HTML-like labels (XML entities,
non-ASCII as numeric references) and synthetic node ids.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Mapping

from ...analysis.report import Report
from ...core.errors import ShapeplanError
from .model import Cluster, GraphModel, Node, clean_text, graph_model

DOT_TIMEOUT_S = 60.0

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
    for ch in clean_text(text):
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
    for ch in clean_text(text):
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
    """A node statement: HTML-like label, colours by kind and severity, a tooltip of messages."""
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
    """The statements of a cluster's nodes, then of its child clusters as subgraphs."""
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
    """``text`` wrapped at spaces into lines of about ``width`` characters."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def model_to_dot(m: GraphModel) -> str:
    """DOT text of a graph model: a titled digraph, one subgraph per cluster."""
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
