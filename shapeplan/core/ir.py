"""The one intermediate representation: a Network of Layers over a networkx DiGraph."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import networkx as nx

from .conditions import Cond
from .dims import Shape
from .errors import Location


@dataclass(frozen=True)
class SymbolInfo:
    """Bounds on an input symbol (inclusive); a symbol is a positive integer by default."""

    name: str
    min: int = 1
    max: int | None = None


@dataclass(frozen=True)
class Layer:
    """One layer: an op applied to the outputs of ``inputs`` (layer or input names).

    ``args``/``kwargs`` are the values as written (after block substitution); they are
    bound to the op's signature by :func:`shapeplan.ops.registry.bind`.
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    expect: tuple[Any, ...] | None = None
    locs: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)

    def loc(self, *keys: str) -> Location | None:
        """The location of the first of ``keys`` that was written, else of the layer."""
        for k in (*keys, "op", ""):
            if k in self.locs:
                return self.locs[k]
        return None


@dataclass(frozen=True)
class Refusal:
    """Sizes at which the model's own code refuses the input (a ``raise`` or a failed assert in
    forward): ``guard`` says which sizes, ``message`` what the model says, at ``location``."""

    guard: tuple[Cond, ...]
    message: str
    location: Location | None = None


@dataclass(frozen=True)
class Network:
    """Layers over named inputs.  A Network read from a forward that branches on sizes is one
    path of it: ``guard`` holds on the sizes that take this path, and ``alternatives`` are the
    other paths (Networks, or Refusals where forward raises); together they cover every size."""

    name: str
    inputs: Mapping[str, Shape]
    layers: tuple[Layer, ...]
    outputs: tuple[str, ...]
    symbols: Mapping[str, SymbolInfo] = field(default_factory=dict)
    source: str | None = None  # file name, for diagnostics
    input_locs: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)
    guard: tuple[Cond, ...] = ()
    alternatives: tuple[Network | Refusal, ...] = field(default=(), compare=False)
    origin: str = "yaml"  # "torch": read from an nn.Module (diagnostics then speak Python)

    @cached_property
    def graph(self) -> nx.DiGraph:
        """Nodes: input and layer names; an edge a -> b when b reads a."""
        g = nx.DiGraph()
        for name in self.inputs:
            g.add_node(name, kind="input")
        for layer in self.layers:
            g.add_node(layer.name, kind="layer", layer=layer)
        for layer in self.layers:
            for src in layer.inputs:
                g.add_edge(src, layer.name)
        return g

    @cached_property
    def by_name(self) -> dict[str, Layer]:
        return {layer.name: layer for layer in self.layers}

    def symbol_names(self) -> list[str]:
        """Every symbol of the input shapes, in order of first appearance."""
        seen: dict[str, None] = {}
        for shape in self.inputs.values():
            for d in shape:
                if not isinstance(d, int):
                    for s in sorted(d.free_symbols, key=lambda s: s.name):
                        seen.setdefault(s.name, None)
        for s in self.symbols:
            seen.setdefault(s, None)
        return list(seen)
