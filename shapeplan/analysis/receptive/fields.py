"""The receptive fields of a network: its input axes' windows carried through every layer by
the op rules (:data:`.rules.RULES`); see :mod:`.axis` for what the numbers mean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from ...core.ir import Network
from .axis import Axis, State, Unknown, Window
from .rules import RULES


def _input_states(net: Network) -> dict[str, dict[str, Axis]]:
    from ...core.dims import fmt

    out: dict[str, dict[str, Axis]] = {}
    many = len(net.inputs) > 1
    for name, shape in net.inputs.items():
        axes: dict[str, Axis] = {}
        if len(shape) >= 3:
            labels = [fmt(d) if isinstance(d, sympy.Symbol) else f"dim{i}" for i, d in enumerate(shape)]
            for i in range(2, len(shape)):
                label = labels[i] if labels.count(labels[i]) == 1 else f"dim{i}"
                axes[f"{name}.{label}" if many else label] = Axis(i, 1, 1, 0)
        out[name] = axes
    return out


def receptive_fields(net: Network, results: Mapping[str, Any]) -> dict[str, dict[str, Window] | None]:
    """Every layer's windows, per input axis (``None``: unknown), from a propagation's results.

    ``results`` maps layer names to :class:`shapeplan.analysis.propagate.LayerResult` (layers that
    failed are absent: their windows, and those downstream, are unknown).
    """
    from ..propagate import layer_order

    states: dict[str, State] = dict(_input_states(net))
    out: dict[str, dict[str, Window] | None] = {}
    for layer in layer_order(net):
        res = results.get(layer.name)
        ins = [states.get(src) for src in layer.inputs]
        rule = RULES.get(layer.op)
        st: State = None
        if res is not None and res.shape is not None and rule is not None and all(s is not None for s in ins):
            try:
                st = rule([s for s in ins if s is not None], list(res.inputs), res.shape, res.args)
            except Unknown:
                st = None
            except (ArithmeticError, LookupError, TypeError, ValueError):  # a case no rule foresaw
                st = None  # unknown, rather than no report at all
        states[layer.name] = st
        out[layer.name] = None if st is None else {k: ax.window() for k, ax in st.items()}
    return out
