"""The Report: what ``check`` found about a network (every layer's shape, the diagnostics, the
valid domain, the cases where the shapes differ)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.dims import Dim, Shape, fmt, fmt_shape, norm
from ..core.errors import Diagnostic
from ..core.ir import Network
from .domain.domain import Domain
from .propagate import Propagation

if TYPE_CHECKING:
    from .cases import Case
    from .costs.records import Costs


@dataclass(frozen=True)
class LayerInfo:
    name: str
    op: str
    inputs: tuple[str, ...]
    shape: Shape | None
    params: Dim | None
    args: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class Report:
    """What ``check`` found: every layer's shape, the diagnostics, and the valid domain."""

    network: Network
    layers: list[LayerInfo]
    diagnostics: list[Diagnostic]
    domain: Domain
    propagation: Propagation = field(repr=False)
    cases: list[Case] = field(default_factory=list, repr=False)  # the other cases (see analysis.cases)
    main: Case | None = field(default=None, repr=False)  # the case the table shows (its own domain)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics) and not self.domain.empty

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def shapes(self) -> dict[str, Shape | None]:
        out: dict[str, Shape | None] = {k: tuple(v) for k, v in self.network.inputs.items()}
        out.update({li.name: li.shape for li in self.layers})
        return out

    @property
    def outputs(self) -> list[Shape | None]:
        shapes = self.shapes
        return [shapes.get(o) for o in self.network.outputs]

    def _repr_html_(self) -> str:
        """The report as an HTML table, for Jupyter: layers, output, parameters, valid inputs,
        diagnostics."""
        from .html import report_html

        return report_html(self)

    def case_at(self, /, **sizes: int) -> Case | None:
        """The case other than the main one that these sizes fall in, or None (the main case)."""
        for c in self.cases:
            if c.region.contains(sizes):
                return c
        return None

    def case_report(self, /, **sizes: int) -> Report:
        """The Report of the case these sizes fall in (this one for the main case): the
        layers and shapes of the path forward takes there."""
        case = self.case_at(**sizes)
        if case is None or case.propagation is None or case.network is None:
            return self
        net, prop = case.network, case.propagation
        order = {layer.name: i for i, layer in enumerate(net.layers)}
        return Report(net, layer_infos(net, prop, order), list(case.diagnostics), case.domain, prop)

    def at(self, /, **sizes: int) -> dict[str, tuple[int, ...]]:
        """Every input's and layer's shape at these sizes, as ints (every size must be given):
        ``rep.at(N=1, H=28, W=28)["fc1"] == (1, 120)``.  In the case the sizes fall in (a size
        that is 1, a branch of forward).  Raises :class:`~shapeplan.ShapeError` where they are
        not valid, naming the first layer that fails there, its values, and the nearest valid
        sizes."""
        from .at import shapes_at

        return shapes_at(self, sizes)

    def shapes_at(self, /, **sizes: int) -> dict[str, Shape | None]:
        """Every layer's shape formula in the case these sizes fall in (the table's, unless a
        size is special: a dim that is 1, a branch of forward)."""
        case = self.case_at(**sizes)
        if case is None or case.propagation is None:
            return self.shapes
        out: dict[str, Shape | None] = {k: tuple(v) for k, v in case.propagation.network.inputs.items()}
        out.update({k: r.shape for k, r in case.propagation.results.items()})
        return out

    def outputs_at(self, /, **sizes: int) -> list[Shape | None]:
        """The network's output shapes (formulas) in the case these sizes fall in."""
        case = self.case_at(**sizes)
        net = case.network if case is not None and case.network is not None else self.network
        shapes = self.shapes_at(**sizes)
        return [shapes.get(o) for o in net.outputs]

    @property
    def total_params(self) -> Dim:
        return norm(sum((li.params or 0 for li in self.layers), 0))

    def costs(self, dtype: str = "float32") -> Costs:
        """Parameters, MACs/FLOPs, activation memory and receptive fields of every layer, as
        formulas (``.at(H=224, W=224)`` evaluates them); see :mod:`shapeplan.analysis.costs`."""
        from .costs.compute import compute_costs

        return compute_costs(self, dtype)

    def to_json(self, dtype: str = "float32", at: Mapping[str, int] | None = None) -> dict[str, Any]:
        """The report as JSON data; every layer has its ``costs`` (at ``dtype``; with ``at``, also
        their values at those sizes), and ``costs`` holds the totals."""
        costs = self.costs(dtype)
        doc = self._json()
        valued = costs.at(**at) if at else None
        for entry, lc in zip(doc["layers"], costs.layers):
            entry["costs"] = lc.to_json()
            if valued is not None:
                entry["costs"]["at"] = valued[lc.name].values_json()
        summary = costs.to_json()
        del summary["layers"]
        if valued is not None:
            summary["at"] = {"sizes": dict(valued.sizes), "totals": valued.to_json()["totals"]}
        doc["costs"] = summary
        return doc

    def _json(self) -> dict[str, Any]:
        return {
            "network": self.network.name,
            "file": self.network.source,
            "ok": self.ok,
            "inputs": {k: [fmt(d) for d in v] for k, v in self.network.inputs.items()},
            "layers": [
                {
                    "name": li.name,
                    "op": li.op,
                    "inputs": list(li.inputs),
                    "shape": None if li.shape is None else [fmt(d) for d in li.shape],
                    "params": None if li.params is None else fmt(li.params),
                }
                for li in self.layers
            ],
            "outputs": {o: (None if s is None else [fmt(d) for d in s])
                        for o, s in zip(self.network.outputs, self.outputs)},
            "total_params": fmt(self.total_params),
            "domain": self.domain.to_json(),
            "cases": [c.to_json() for c in self.cases],
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }


def layer_infos(net: Network, prop: Propagation, order: Mapping[str, int]) -> list[LayerInfo]:
    """The table's rows: every layer's result, in ``order`` (layers that failed too)."""
    layers = [LayerInfo(name, r.layer.op, r.layer.inputs, r.shape, r.params, r.args)
              for name, r in prop.results.items()]
    have = {li.name for li in layers}
    for layer in net.layers:  # keep layers that failed (no result) in the table too, in order
        if layer.name not in have:
            layers.append(LayerInfo(layer.name, layer.op, layer.inputs, None, None))
    layers.sort(key=lambda li: order.get(li.name, 0))
    return layers


def shape_text(shape: Shape | None) -> str:
    return "?" if shape is None else fmt_shape(shape)
