"""The op rule registry.  Importing this package registers every op family."""

from __future__ import annotations

from . import (  # noqa: F401  (imported for their registrations)
    activation,
    conv,
    formats,
    functional,
    layouts,
    linear,
    merge,
    misc,
    norm,
    pad,
    pointwise,
    pool,
    reduce,
    reshape,
    resize,
    tensor,
)
from .registry import REGISTRY, OpSpec

__all__ = ["REGISTRY", "OpSpec"]
