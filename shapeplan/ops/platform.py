"""The torch the rules answer for: its number of CPU threads.

One fact of the running process changes which kernel torch's CPU picks, and with it an answer
the rules give: the number of intra-op threads (``torch.get_num_threads()``).  torch's
``ConvParams::use_mkldnn`` takes oneDNN for an unstrided, undilated convolution whose kernel's
last two sizes are 1 and whose batch is below 16 only with more than one thread, and only
oneDNN writes a channels-last-3d output for a 3-D convolution and accepts an empty
ConvTranspose output.  So the rules ask :func:`torch_threads`:

- set explicitly (:func:`set_torch_threads`, :func:`torch_threads_set`, the CLI's
  ``--torch-threads``), that number;
- else, where torch is already imported in this process, ``torch.get_num_threads()`` (the
  torch bridge, validate and the tests compare with that torch: the same answer);
- else what torch would start with: ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` when set, else
  the CPUs this process may run on.

The static core never imports torch for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_THREADS: ContextVar[int | None] = ContextVar("shapeplan_torch_threads", default=None)


def _detected() -> int:
    torch = sys.modules.get("torch")
    get = getattr(torch, "get_num_threads", None)
    if callable(get):
        try:
            return max(1, int(get()))
        except (RuntimeError, TypeError, ValueError):  # a half-imported torch
            pass
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _checked(n: int | None) -> int | None:
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ValueError(f"the number of torch threads must be a positive integer, not {n!r}")
    return n


def torch_threads() -> int:
    """The number of torch CPU threads the rules answer for (see the module's text)."""
    n = _THREADS.get()
    return n if n is not None else _detected()


def set_torch_threads(n: int | None) -> None:
    """Answer for torch with ``n`` threads from now on (None: detect it again)."""
    _THREADS.set(_checked(n))


@contextmanager
def torch_threads_set(n: int | None) -> Iterator[None]:
    """``with torch_threads_set(1): ...`` answers for single-threaded torch inside the block."""
    token = _THREADS.set(_checked(n))
    try:
        yield
    finally:
        _THREADS.reset(token)
