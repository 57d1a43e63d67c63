"""The op rule registry.  Importing this package registers every op family."""

from __future__ import annotations

from . import (  # noqa: F401  (imported for their registrations)
    activation,
    advanced_index,
    attention,
    compare,
    composites,
    conv,
    conv_functional,
    conv_layouts,
    create,
    einsum_layout,
    formats,
    functional,
    index,
    layouts,
    linalg_norms,
    linear,
    merge,
    misc,
    norm,
    pad,
    pointwise,
    pool,
    products,
    reduce,
    reshape,
    resize,
    sampling,
    tensor,
    window,
)
from .registry import REGISTRY, OpSpec

__all__ = ["REGISTRY", "OpSpec"]
