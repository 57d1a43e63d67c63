"""The costs of a checked network, as formulas in its input's symbols:

    costs = shapeplan.check("net.yaml").costs(dtype="float32")
    costs["conv1"].macs, costs.total_macs, costs.peak_bytes
    costs.at(H=224, W=224).total_flops          # every formula evaluated at a size

The conventions: :mod:`.tables` (params, MACs, FLOPs, bytes), :mod:`.memory` (peak bytes);
the receptive fields: :mod:`shapeplan.analysis.receptive`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from ...core.dims import norm, prod
from ..receptive.fields import receptive_fields
from .memory import live_steps
from .records import Costs, LayerCost
from .tables import BUFFERS, DTYPES, MACS, trainable_params

if TYPE_CHECKING:
    from ...core.ir import Network
    from ..domain.domain import Domain
    from ..propagate import Propagation


class Checked(Protocol):
    """What costs are computed from: a checked network (a :class:`~shapeplan.analysis.check.Report`,
    named structurally so that the Report may offer ``costs()`` without an import cycle)."""

    network: Network
    domain: Domain
    propagation: Propagation

    @property
    def layers(self) -> Sequence[Any]: ...


def compute_costs(rep: Checked, dtype: str = "float32") -> Costs:
    """The costs of every layer of ``rep`` (conventions: :mod:`.tables` and :mod:`.memory`)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    itemsize = DTYPES[dtype]
    results = rep.propagation.results
    rfs = receptive_fields(rep.network, results)
    layers = []
    for li in rep.layers:
        r = results.get(li.name)
        if r is None or r.shape is None:
            layers.append(LayerCost(li.name, li.op, None, None, None, None, None, None, None))
            continue
        params = norm(r.params if r.params is not None else 0)
        buffers = BUFFERS[li.op](r.args) if li.op in BUFFERS else 0
        macs = MACS[li.op](r) if li.op in MACS else 0
        elements = prod(r.shape)
        layers.append(LayerCost(li.name, li.op, params, trainable_params(li.op, r.args, params), buffers, macs,
                                elements, norm(elements * itemsize), rfs.get(li.name)))
    complete = all(lc.elements is not None for lc in layers)
    steps, allocates = live_steps(rep.network, results, dtype) if complete else ((), {})
    layers = [replace(lc, allocates=allocates.get(lc.name)) for lc in layers]
    symbols = list(rep.network.symbol_names())
    for s in rep.domain.symbols:
        if s not in symbols:
            symbols.append(s)
    inputs = {k: prod(v) for k, v in rep.network.inputs.items()}
    return Costs(dtype, tuple(layers), inputs, steps, tuple(symbols), {}, _lows(rep))


def _lows(rep: Checked) -> dict[str, int]:
    """The least valid value of each symbol (1 where nothing more is known)."""
    out: dict[str, int] = {}
    boxes = rep.domain.boxes
    for s in rep.domain.symbols:
        mins = [b[s].min() for b in boxes] if boxes else []
        known = [m for m in mins if m is not None]
        out[s] = max(1, min(known)) if known and len(known) == len(mins) else 1
    return out
