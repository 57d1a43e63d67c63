"""Costs of a network, as exact formulas in the input's symbols: tables.py (per-op MACs, buffers,
aliasing), records.py (Costs, LayerCost), memory.py (peak, live bytes), compute.py (compute_costs).
They import core, analysis.receptive and analysis.propagate; never analysis.check (it imports them)."""

from ..receptive.axis import Window
from .compute import Checked, compute_costs
from .memory import peak
from .records import Costs, LayerCost, subst
from .tables import BUFFERS, CONVENTION, DTYPES, MACS

__all__ = ["BUFFERS", "CONVENTION", "DTYPES", "MACS", "Checked", "Costs", "LayerCost", "Window", "compute_costs", "peak",
           "subst"]
