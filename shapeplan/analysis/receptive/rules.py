"""Every op's receptive-field rule: the op families' tables (:mod:`.rules_window`,
:mod:`.rules_resize`, :mod:`.rules_mix`, :mod:`.rules_layout`, :mod:`.rules_more`) in one
table, op name -> rule."""

from __future__ import annotations

from .axis import Rule
from .rules_layout import LAYOUT_RULES
from .rules_mix import MIX_RULES
from .rules_more import MORE_RULES
from .rules_resize import RESIZE_RULES
from .rules_window import WINDOW_RULES

RULES: dict[str, Rule] = {**LAYOUT_RULES, **WINDOW_RULES, **RESIZE_RULES, **MIX_RULES, **MORE_RULES}
