"""Pictures of the layer graph: Graphviz DOT, SVG (through Graphviz's ``dot``), Mermaid.

One neutral model (:mod:`.model`: :func:`graph_model` gives nodes, edges labelled with the
symbolic shape that flows along them, clusters of block-scoped names) and one writer per
format (:mod:`.dot` for DOT and SVG, :mod:`.mermaid`).  Every piece of user text (layer names,
ops, shapes, messages) goes through the format's own escaping: DOT gets HTML-like labels (XML
entities, non-ASCII as numeric references) and synthetic node ids; Mermaid gets entity codes
(``#34;``) for anything but plain ASCII letters, digits and harmless punctuation, and ids
``i0``/``n0``/``r0`` that are safe for its grammar.
"""

from __future__ import annotations

from .dot import to_dot, to_svg
from .mermaid import to_mermaid
from .model import GraphModel, graph_model, key_args

FORMATS = {"dot": to_dot, "mermaid": to_mermaid, "svg": to_svg}

__all__ = ["FORMATS", "GraphModel", "graph_model", "key_args", "to_dot", "to_mermaid", "to_svg"]
