"""Shared test setup: single-threaded torch (tiny tensors; threads only add overhead on 2 cores)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent
for _p in (str(_TESTS.parent), str(_TESTS)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the static core's tests run without torch
    pass
