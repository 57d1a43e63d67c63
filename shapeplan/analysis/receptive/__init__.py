"""Receptive fields: the window of the input that one element of every layer's output sees.
axis.py holds the arithmetic of one window, rules_*.py the per-op rules (a table per op family),
rules.py the whole table, fields.py the walk over a network; they import core, ops and analysis.propagate."""

from .axis import Axis, Window
from .fields import receptive_fields
from .rules import RULES
from .rules_window import adaptive_window, transposed_taps

__all__ = ["RULES", "Axis", "Window", "adaptive_window", "receptive_fields", "transposed_taps"]
