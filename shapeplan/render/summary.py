"""``shapeplan.summary``: the layer table in one call, as torchinfo users know it.

Layers are grouped by their module path (``layer1.0.conv1`` is in ``layer1.0``, in ``layer1``):
with ``depth=d`` the modules down to depth d are rows, indented by depth, and what lies deeper
is folded into its row.  A module's row shows its type, the output of its last layer and the
parameters of all its layers; the shapes are formulas in the input's symbols (values with
``at``).  Then the output, the parameters, the valid inputs, and the errors and warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..analysis.report import LayerInfo, Report, shape_text
from ..core.dims import Dim, Shape, evaluate, norm
from .text import _param_text, diagnostics_text, domain_lines, table


@dataclass
class Row:
    """One row of the summary: a module (a group of layers) or a layer, at its depth."""

    name: str
    kind: str
    depth: int
    shape: Shape | None
    params: Dim | None


def _parts(name: str) -> list[str]:
    return name.split(".")


def _group_kind(model: Any, prefix: str) -> str:
    """The class of the submodule ``prefix`` of ``model`` (an nn.Module), or ``block``."""
    get = getattr(model, "get_submodule", None)
    if get is not None:
        try:
            return type(get(prefix)).__name__
        except (AttributeError, TypeError, ValueError):
            pass
    return "block"


def rows(rep: Report, depth: int = 3, model: Any = None) -> list[Row]:
    """The summary's rows: modules down to ``depth`` (grouping the layers below them), in the
    order of their first layer; layers at most ``depth`` deep as they are."""
    out: list[Row] = []
    groups: dict[str, Row] = {}
    members: dict[str, list[LayerInfo]] = {}
    for li in rep.layers:
        parts = _parts(li.name)
        for k in range(1, min(len(parts) - 1, depth) + 1):
            prefix = ".".join(parts[:k])
            if prefix not in groups:
                groups[prefix] = Row(prefix, _group_kind(model, prefix), k, None, None)
                out.append(groups[prefix])
            members.setdefault(prefix, []).append(li)
        if len(parts) <= depth:
            out.append(Row(li.name, li.op, len(parts), li.shape, li.params))
    for prefix, row in groups.items():
        inside = members[prefix]
        row.shape = inside[-1].shape
        row.params = None if any(li.params is None for li in inside) else norm(sum((li.params or 0 for li in inside), 0))
    return out


def _at(shape: Shape | None, sizes: Mapping[str, int]) -> Shape | None:
    if shape is None or not sizes:
        return shape
    try:
        return tuple(evaluate(d, sizes) for d in shape)
    except KeyError:
        return shape


def summary_text(rep: Report, depth: int = 3, model: Any = None, at: Mapping[str, int] | None = None) -> str:
    """The summary as text (see the module's docstring)."""
    sizes = dict(at or {})
    if sizes and rep.ok and all(s in sizes for s in rep.domain.symbols):
        rep = rep.case_report(**sizes)  # the layers and shapes of the case these sizes fall in
    net = rep.network
    body = [[name, "input", shape_text(_at(tuple(shape), sizes)), ""] for name, shape in net.inputs.items()]
    for r in rows(rep, depth, model):
        body.append(["  " * (r.depth - 1) + r.name, r.kind,
                     shape_text(_at(r.shape, sizes)), _param_text(r.params)])
    out = [net.name + (f" ({net.source})" if net.source else "") + (f" at {', '.join(f'{k}={v}' for k, v in sizes.items())}"
                                                      if sizes else ""),
           table(body, ["layer", "type", "output shape", "params"]), ""]
    outputs: Sequence[Shape | None] = rep.outputs
    if len(net.outputs) == 1:
        out.append(f"output: {shape_text(_at(outputs[0], sizes))}")
    else:
        out.extend(f"output {n}: {shape_text(_at(s, sizes))}" for n, s in zip(net.outputs, outputs))
    out.append(f"parameters: {_param_text(rep.total_params)}")
    out.extend(domain_lines(rep))
    shown = [d for d in rep.diagnostics if d.severity != "note"]
    if shown:
        out.append(diagnostics_text(shown))
    return "\n".join(out)
