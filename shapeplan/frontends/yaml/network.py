"""net.yaml -> Network: the document (:mod:`.document`), its layers and blocks (:mod:`.blocks`)
and the graph they form.  Every problem is a Diagnostic that points at the YAML key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from ...core.dims import Dim
from ...core.errors import Diagnostic, InputError
from ...core.ir import Network
from .blocks import Expander, check_blocks
from .document import (
    MAX_ERRORS,
    Ctx,
    TooManyErrors,
    check_top_keys,
    network_name,
    parse_inputs,
    parse_symbols,
    suggest,
    unique_diagnostics,
    warn_unused_symbols,
)
from .source import Doc, plain_doc


def network_from_doc(doc: Doc) -> Network:
    """Build and validate a Network from a parsed document; raise InputError on problems."""
    ctx = Ctx(doc)
    try:
        return _network_from_doc(doc, ctx)
    except TooManyErrors:
        diags = unique_diagnostics(ctx.diags)
        diags.append(Diagnostic("note", "too-many-errors", f"stopped after {MAX_ERRORS} errors",
                                location=diags[-1].location))
        raise InputError(diags[0].message, diagnostics=diags) from None


def load_dict(data: Mapping[str, Any]) -> Network:
    """A Network from a plain dict shaped like a net.yaml (no file positions)."""
    return network_from_doc(plain_doc(dict(data)))


def _network_from_doc(doc: Doc, ctx: Ctx) -> Network:
    """The document read in order: top level, symbols, inputs, blocks, layers, outputs."""
    data = doc.value
    if not isinstance(data, dict):
        raise InputError("a net.yaml must be a mapping with `input` and `layers`", code="bad-network",
                         location=doc.loc(), hint="start with `name: Net`, `input: [N, 3, H, W]`, `layers: [...]`")
    check_top_keys(ctx, data)
    name = network_name(ctx, data)
    symbols = parse_symbols(ctx, data.get("symbols"))
    inputs, input_locs = parse_inputs(ctx, data)
    if "layers" not in data:
        ctx.error("missing-layers", "the network has no `layers`", (), hint="add `layers:` with a list of layers")
    exp, scope, last = _expand_layers(ctx, data, inputs)
    outputs = _outputs(ctx, data, scope, last)
    warn_unused_symbols(ctx, symbols, inputs)
    if any(d.severity == "error" for d in ctx.diags):
        unique = unique_diagnostics(ctx.diags)
        raise InputError(unique[0].message, diagnostics=unique)
    net = Network(name, inputs, tuple(exp.layers), tuple(outputs), symbols, doc.file, input_locs)
    _check_acyclic(net)
    if ctx.diags:
        object.__setattr__(net, "_load_diagnostics", tuple(ctx.diags))
    return net


def _expand_layers(ctx: Ctx, data: dict[str, Any],
                   inputs: dict[str, tuple[Dim, ...]]) -> tuple[Expander, dict[str, str], str | None]:
    """`blocks` and `layers` expanded into flat layers: the expander that holds them, the
    top-level scope (local name -> global name) and the last layer's name."""
    blocks = check_blocks(ctx, data.get("blocks"))
    exp = Expander(ctx, blocks)
    exp.input_names = set(inputs)
    exp.inputs_failed = not inputs and ("input" in data or "inputs" in data)
    scope = {n: n for n in inputs}
    last = None
    if "layers" in data and (inputs or "input" in data or "inputs" in data):
        first = next(iter(inputs), None)
        layers_raw = data["layers"]
        if isinstance(layers_raw, list) and not layers_raw:
            ctx.error("missing-layers", "`layers` is empty", ("layers",))
        last = exp.expand(layers_raw, ("layers",), "", {}, scope, first, 0)
    return exp, scope, last


def _outputs(ctx: Ctx, data: dict[str, Any], scope: Mapping[str, str], last: str | None) -> list[str]:
    """The network's outputs: the `outputs` key's layers, else the last layer."""
    outputs: list[str] = []
    raw_out = data.get("outputs")
    if raw_out is not None:
        items = raw_out if isinstance(raw_out, list) else [raw_out]
        for j, o in enumerate(items):
            if not isinstance(o, str) or o not in scope:
                close = suggest(str(o), scope)
                ctx.error("unknown-output", f"output {o!r} is not a layer"[:200], ("outputs", j) if isinstance(raw_out, list)
                          else ("outputs",), hint=f"did you mean {close!r}?" if close else None)
            else:
                outputs.append(scope[o])
    elif last is not None:
        outputs.append(last)
    return outputs


def _check_acyclic(net: Network) -> None:
    """Raise InputError naming the layers of a cycle, if `from` makes one."""
    g = net.graph
    if not nx.is_directed_acyclic_graph(g):
        cycle = nx.find_cycle(g)
        names = [e[0] for e in cycle]
        layer = net.by_name.get(names[0])
        raise InputError(
            f"the layers form a cycle: {' -> '.join(names + [names[0]])}", code="cycle", layer=names[0],
            location=layer.loc("from") if layer else None, hint="a layer can only read layers that come before it",
        )
