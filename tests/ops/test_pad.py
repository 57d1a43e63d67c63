"""Padding rules against torch: F.pad in every mode, the Zero/Constant/Reflection/Replication/
CircularPad modules (1d/2d/3d), with random (also negative) pads and random shapes, including
the ranks, sizes and pads where torch raises; and Conv's padding_mode, which shares
``pad_mode_requirements``.

Two regions where torch's answer is not a shape rule, excused below and nowhere else:
- circular padding where a negative pad on one side leaves less than the other side's pad:
  torch raises when it detects that its copy overlaps itself (contiguous inputs) and otherwise
  reads overlapping memory; shapeplan says invalid;
- reflect with an empty batch and a negative padded output size: torch returns a tensor with
  a negative size (a torch bug); shapeplan says invalid.  (torch 2.14's replicate raises there.)
And one documented reading (see shapeplan/ops/pad.py): for reflect, with two or more symbolic
padded output sizes, none surely >= 1, the symbolic rule needs each >= 1 where torch needs one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ops.test_activation import check, mask_for, run_torch
from tests.oracle import predict

Shape = tuple[int, ...]
MODES = ["constant", "reflect", "replicate", "circular"]


def padded_dims(shape: Sequence[int], pad: Sequence[int]) -> list[tuple[int, int, int]]:
    """(size, left, right) of each padded dim, last dim first."""
    k = len(pad) // 2
    return [(shape[len(shape) - 1 - i], pad[2 * i], pad[2 * i + 1]) for i in range(min(k, len(shape)))]


def excuses(mode: str, shape: Sequence[int], pad: Sequence[int]) -> tuple[Any, Any]:
    dims = padded_dims(shape, pad)

    def concrete(got: Any, want: Any) -> bool:
        if got is not None or want is None:
            return False
        if mode == "circular":
            return any((left < 0 and right > n + left) or (right < 0 and left > n + right) for n, left, right in dims)
        return mode == "reflect" and any(d < 0 for d in want)

    def symbolic(got: Any, want: Any) -> bool:
        if concrete(got, want):
            return True
        outs = [n + left + right for n, left, right in dims]
        return got is None and want is not None and mode == "reflect" and min(outs) < 1 \
            and sum(1 for n, *_ in dims if n >= 1) >= 2

    return concrete, symbolic


@st.composite
def pad_case(draw: Any, max_k: int = 4) -> tuple[Shape, tuple[int, ...]]:
    shape = tuple(draw(st.integers(0, 4)) for _ in range(draw(st.integers(0, 5))))
    k = draw(st.integers(0, max_k))
    pad = [draw(st.integers(-3, 3)) for _ in range(2 * k)]
    if draw(st.integers(0, 9)) == 0:
        pad.append(1)  # an odd length
    return shape, tuple(pad)


@settings(max_examples=600, deadline=None)
@given(pad_case(), st.sampled_from(MODES), st.sampled_from([None, None, 0.0, 1.5]), st.data())
def test_f_pad(case: tuple[Shape, tuple[int, ...]], mode: str, value: Any, data: Any) -> None:
    shape, pad = case
    kwargs: dict[str, Any] = {"mode": mode} if mode != "constant" or data.draw(st.booleans()) else {}
    if value is not None:
        kwargs["value"] = value
    concrete, symbolic = excuses(mode, shape, pad)
    check("pad", [shape], (list(pad),), kwargs, mask=data.draw(mask_for([shape])), excuse=concrete,
          sym_excuse=symbolic)


@settings(max_examples=600, deadline=None)
@given(st.integers(1, 3), st.sampled_from(["ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"]),
       st.data())
def test_pad_modules(n: int, kind: str, data: Any) -> None:
    rank = data.draw(st.integers(max(n - 1, 0), n + 3))
    shape = tuple(data.draw(st.integers(0, 4)) for _ in range(rank))
    if data.draw(st.integers(0, 2)):
        padding: Any = data.draw(st.integers(-2, 3))
    else:
        length = 2 * n if data.draw(st.integers(0, 4)) else data.draw(st.integers(0, 7))
        padding = [data.draw(st.integers(-3, 3)) for _ in range(length)]
    args: list[Any] = [padding]
    if kind == "ConstantPad":
        args.append(data.draw(st.sampled_from([0.0, -1.0, 2.5])))
    mode = {"ZeroPad": "constant", "ConstantPad": "constant", "ReflectionPad": "reflect",
            "ReplicationPad": "replicate", "CircularPad": "circular"}[kind]
    pad = padding if isinstance(padding, list) else [padding] * (2 * n)
    concrete, symbolic = excuses(mode, shape, pad)
    check(f"{kind}{n}d", [shape], args, mask=data.draw(mask_for([shape])), excuse=concrete, sym_excuse=symbolic)


def test_pad_examples() -> None:
    assert check("pad", [(2, 3)], ([1, 2],)) == (2, 6)
    assert check("pad", [(2, 3)], ([-1, -2],)) == (2, 0)
    assert check("pad", [(2, 3)], ([-4, 1],)) is None  # the crop does not fit
    assert check("pad", [()], ([],)) == ()
    assert check("pad", [(2, 3)], ([],), {"mode": "reflect"}) is None
    assert check("pad", [(2, 3)], ([1, 1],), {"mode": "reflect", "value": 0}) == (2, 5)
    assert check("pad", [(2, 3)], ([1, 1],), {"mode": "reflect", "value": 1.0}) is None
    assert check("pad", [(3,)], ([1, 1],), {"mode": "reflect"}) is None  # needs 2-D or 3-D
    assert check("pad", [(1, 3)], ([3, 0],), {"mode": "reflect"}) is None  # pad < size
    assert check("pad", [(1, 3)], ([2, 2],), {"mode": "reflect"}) == (1, 7)
    assert check("pad", [(1, 3)], ([3, 3],), {"mode": "circular"}) == (1, 9)
    assert check("pad", [(1, 3)], ([4, 0],), {"mode": "circular"}) is None
    assert check("pad", [(0, 3)], ([1, 1],), {"mode": "replicate"}) is None  # empty non-batch dim
    assert check("pad", [(0, 2, 3)], ([1, 1],), {"mode": "replicate"}) == (0, 2, 5)  # empty batch is fine
    # reflect: one padded output dim >= 1 is enough for torch's CPU kernel; replicate needs every one
    # (torch 2.14.1 on CPU: "Calculated output H: 2 W: 0 must be >= 1 in every dimension"; 2.13 gave (1, 2, 0))
    assert check("pad", [(1, 2, 2)], ([-2, 0, 0, 0],), {"mode": "reflect"}) == (1, 2, 0)
    assert check("pad", [(1, 2, 2)], ([-2, 0, 0, 0],), {"mode": "replicate"}) is None
    assert check("pad", [(1, 2, 2)], ([-2, 0, -2, 0],), {"mode": "replicate"}) is None
    assert check("ZeroPad2d", [(1, 4, 4)], (-1,)) == (1, 2, 2)
    assert check("CircularPad1d", [(2, 3, 4, 5)], (1,)) is None  # module rank check
    assert check("ReflectionPad1d", [(2, 3, 4)], ([1, 1, 1, 1],)) == (2, 5, 6)  # torch takes the list as given
    assert predict("pad", [(2, 3)], ([1, 1, 1],)) is None


# --------------------------------------------------------------------------- Conv padding_mode


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2), st.sampled_from(["reflect", "replicate", "circular"]), st.integers(1, 4),
       st.integers(0, 3), st.booleans(), st.data())
def test_conv_padding_mode(n: int, mode: str, k: int, p: int, same: bool, data: Any) -> None:
    shape = (data.draw(st.integers(0, 2)), 2, *(data.draw(st.integers(0, 5)) for _ in range(n)))
    kwargs: dict[str, Any] = {"padding_mode": mode, "padding": "same" if same else p}
    check(f"Conv{n}d", [shape], (2, 3, k), kwargs, mask=data.draw(mask_for([shape])))


def test_run_torch_sanity() -> None:
    assert run_torch("pad", [(2, 3)], ([1, 1],), {"mode": "circular"}) == (2, 5)
