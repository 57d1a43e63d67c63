"""The valid input domain: quasi.py decides a condition on one symbol, boxes.py intersects unions
of boxes with conditions on several, domain.py holds the Domain they build.  They import only core."""

from ...core.sets import TooComplex, USet
from .boxes import Box, apply_condition
from .domain import Domain
from .nearest import Nearest
from .quasi import QA, NotAnalysable, quasi_affine, univariate

__all__ = ["Box", "Domain", "Nearest", "USet", "QA", "quasi_affine", "univariate", "apply_condition", "NotAnalysable", "TooComplex"]
