"""The layer graph as a Mermaid flowchart.

Every piece of user text goes through Mermaid's own escaping: entity codes (``#34;``) for
anything but plain ASCII letters, digits and harmless punctuation, and ids ``i0``/``n0``/``r0``
that are safe for its grammar.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...analysis.report import Report
from .model import GraphModel, Node, clean_text, graph_model

_MERMAID_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,_+*/=:?!-()")


def mermaid_text(text: str) -> str:
    """``text`` for a quoted Mermaid label: everything but plain ASCII as ``#<code>;``."""
    return "".join(c if c in _MERMAID_SAFE else f"#{ord(c)};" for c in clean_text(text))


_MERMAID_SHAPES = {"input": ('(["', '"])'), "output": ('[["', '"]]'), "layer": ('["', '"]')}


def model_to_mermaid(m: GraphModel) -> str:
    """Mermaid text of a graph model: shaped nodes, labelled edges, classes for colours."""
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
    """The node ids of each colour class (input, output, error, warning)."""
    out: dict[str, list[str]] = {}
    for n in nodes:
        cls = n.severity or (n.kind if n.kind != "layer" else None)
        if cls:
            out.setdefault(cls, []).append(n.id)
    return out


def to_mermaid(report: Report) -> str:
    """The layer graph as a Mermaid flowchart (ASCII text; renders on GitHub and in Markdown)."""
    return model_to_mermaid(graph_model(report))
