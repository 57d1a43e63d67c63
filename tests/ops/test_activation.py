"""Activation rules against torch: every activation module (but MultiheadAttention) and the
functional forms, at random arguments and random shapes (0-d and empty tensors included),
including the arguments and sizes where torch raises.  The symbolic rule is checked at the
same sizes.

``run_torch`` / ``check`` here are shared by the norm, pad and misc tests: unlike
``oracle.torch_shape`` they run modules in eval mode (shapeplan's definition of validity,
which matters for BatchNorm), build 0-d tensors and index tensors, and read any exception
(torch raises AssertionError, ZeroDivisionError, NotImplementedError for some bad inputs)
as "invalid".
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapeplan.ops import REGISTRY
from shapeplan.ops.calls import call_source
from shapeplan.ops.ctx import ArgError
from shapeplan.ops.params import REQUIRED
from shapeplan.ops.registry import bind
from tests.oracle import predict, predict_symbolic, symbolize

torch.set_num_threads(1)

Shape = tuple[int, ...]

# --------------------------------------------------------------------------- shared helpers


def run_torch(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (),
              kwargs: dict[str, Any] | None = None, dtypes: Sequence[Any] | None = None) -> Shape | None:
    """torch's output shape (modules in eval mode), or None where torch raises."""
    spec = REGISTRY[op]
    bound = bind(spec, args, kwargs or {})
    names = [f"x{i}" for i in range(len(shapes))]
    env: dict[str, Any] = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional}
    for i, (name, s) in enumerate(zip(names, shapes, strict=True)):
        env[name] = torch.zeros(tuple(s), dtype=(dtypes[i] if dtypes else None) or torch.float32)
    src = call_source(spec, names, bound)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                if spec.kind == "module":
                    module = eval(src, env)  # noqa: S307 - source built by shapeplan from validated values
                    module.eval()
                    out = module(*(env[n] for n in names))
                else:
                    out = eval(src, env)  # noqa: S307
        except TypeError as e:
            if "argument" in str(e) and "must be" not in str(e):
                raise  # a wrong call signature is a bug in the spec, not an invalid size
            return None
        except Exception:  # noqa: BLE001 - torch raises many kinds for bad inputs
            return None
    return tuple(out.shape)


def check(op: str, shapes: Sequence[Sequence[int]], args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
          mask: Sequence[Sequence[bool]] | None = None, dtypes: Sequence[Any] | None = None,
          excuse: Callable[[Any, Any], bool] | None = None,
          sym_excuse: Callable[[Any, Any], bool] | None = None) -> Shape | None:
    """predict == torch, and the symbolic rule agrees at the same sizes.

    ``excuse(predicted, torch)`` may allow a documented disagreement (a region where torch's
    behaviour is undefined or where shapeplan's reading is stricter); it is asked only when
    the two differ.  ``sym_excuse`` (default: ``excuse``) does the same for the symbolic rule.
    """
    sym_excuse = sym_excuse or excuse
    kwargs = kwargs or {}
    shapes = [tuple(s) for s in shapes]
    want = run_torch(op, shapes, args, kwargs, dtypes)
    got = predict(op, shapes, args, kwargs)
    if got != want:
        assert excuse is not None and excuse(got, want), \
            f"{op}{shapes} {args} {kwargs}: predicted {got}, torch {want}"
    sym_shapes, env = symbolize(shapes, mask)
    got_sym = predict_symbolic(op, sym_shapes, env, args, kwargs)
    if got_sym != want:
        assert sym_excuse is not None and sym_excuse(got_sym, want), \
            f"{op}{sym_shapes} at {env} {args} {kwargs}: symbolic {got_sym}, torch {want}"
    return want


@st.composite
def shapes_st(draw: Any, min_rank: int = 0, max_rank: int = 5, max_size: int = 4) -> Shape:
    rank = draw(st.integers(min_rank, max_rank))
    return tuple(draw(st.integers(0, max_size)) for _ in range(rank))


@st.composite
def mask_for(draw: Any, shapes: Sequence[Sequence[int]]) -> list[list[bool]]:
    return [[draw(st.booleans()) for _ in s] for s in shapes]


def param_count_torch(op: str, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None) -> int:
    spec = REGISTRY[op]
    module = eval(call_source(spec, [], bind(spec, args, kwargs or {})),  # noqa: S307
                  {"torch": torch, "nn": torch.nn})
    return sum(p.numel() for p in module.parameters())


def param_count_rule(op: str, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None) -> Any:
    spec = REGISTRY[op]
    assert spec.param_count is not None
    return spec.param_count(bind(spec, args, kwargs or {}))


# --------------------------------------------------------------------------- elementwise

ELEMENTWISE_MODULES = ["Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh", "SiLU",
                       "Mish", "Hardswish", "ELU", "CELU", "SELU", "GELU", "Hardshrink", "LeakyReLU", "LogSigmoid",
                       "Softplus", "Softshrink", "Softsign", "Tanhshrink"]
ELEMENTWISE_FUNCTIONS = ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid",
                         "tanh", "hardtanh", "hardsigmoid", "hardswish", "softplus", "threshold", "rrelu",
                         "hardshrink", "softshrink", "tanhshrink", "softsign", "logsigmoid"]
FLOATS = [-1.5, -1, 0.0, 0.125, 0.5, 1, 2.0]


@st.composite
def random_kwargs(draw: Any, op: str) -> dict[str, Any]:
    """Random values for a random subset of ``op``'s parameters (those its converters accept)."""
    out: dict[str, Any] = {}
    for p in REGISTRY[op].params:
        required = p.default is REQUIRED
        if not required and not draw(st.booleans()):
            continue
        if p.name in ("inplace", "training"):
            v: Any = draw(st.booleans())
        elif p.name == "approximate":
            v = draw(st.sampled_from(["none", "tanh"]))
        elif p.name in ("min_value", "max_value"):
            v = draw(st.sampled_from([None, *FLOATS]))
        else:
            v = draw(st.sampled_from(FLOATS))
        try:
            p.conv(v)
        except ArgError:
            if required:
                v = 1.0
            else:
                continue
        out[p.name] = v
    return out


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(ELEMENTWISE_MODULES + ELEMENTWISE_FUNCTIONS), shapes_st(), st.data())
def test_elementwise(op: str, shape: Shape, data: Any) -> None:
    kwargs = data.draw(random_kwargs(op))
    want = check(op, [shape], (), kwargs, mask=data.draw(mask_for([shape])))
    assert want in (shape, None)


def test_elementwise_registry_complete() -> None:
    import torch.nn.modules.activation as act

    skipped = {"MultiheadAttention"}
    for name in act.__all__:
        if name not in skipped:
            assert name in REGISTRY, name
    for name in ELEMENTWISE_MODULES + ELEMENTWISE_FUNCTIONS:
        assert name in REGISTRY


def test_argument_checks() -> None:
    # bad single values: ArgError (exit code 2), and torch rejects them too
    for op, kwargs in [("CELU", {"alpha": 0}), ("celu", {"alpha": 0.0}), ("Softshrink", {"lambd": -0.5}),
                       ("softshrink", {"lambd": -1}), ("GELU", {"approximate": "foo"})]:
        with pytest.raises(ArgError):
            predict(op, [(2, 3)], (), kwargs)
        with pytest.raises(ArgError):
            bind(REGISTRY[op], (), kwargs)
    assert run_torch("Softshrink", [(2, 3)], (), {"lambd": 0.5}) == (2, 3)
    # cross-argument checks: the rule fails exactly where torch does
    assert check("Hardtanh", [(2, 3)], (1.0, 1.0)) is None  # module: max_val > min_val strictly
    assert check("hardtanh", [(2, 3)], (), {"min_val": 1.0, "max_val": 1.0}) == (2, 3)  # function: min <= max
    assert check("hardtanh", [(2, 3)], (), {"min_val": 2.0, "max_val": 1.0}) is None
    assert check("Hardtanh", [(2, 3)], (), {"min_value": -3.0, "max_val": -2.0}) == (2, 3)
    assert check("RReLU", [(4,)], (0.5, 0.1)) is None
    assert check("rrelu", [(4,)], (0.1, 0.5, True)) == (4,)
    assert check("Threshold", [()], (0.1, 20)) == ()


# --------------------------------------------------------------------------- PReLU


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 4), shapes_st(max_rank=4), st.data())
def test_prelu(k: int, shape: Shape, data: Any) -> None:
    if len(shape) >= 2 and data.draw(st.booleans()):
        shape = (shape[0], k, *shape[2:])  # the channel count matches half the time
    check("PReLU", [shape], (), {"num_parameters": k, "init": 0.1}, mask=data.draw(mask_for([shape])))


def test_prelu_examples() -> None:
    assert check("PReLU", [()]) == ()
    assert check("PReLU", [(3,)], (3,)) is None  # a 1-D input is one channel
    assert check("PReLU", [(2, 3, 5)], (3,)) == (2, 3, 5)
    assert check("PReLU", [(2, 0)], (0,)) == (2, 0)
    assert check("PReLU", [(2, 4, 5)], (3,)) is None
    assert predict_symbolic("PReLU", [["N", "C", "L"]], {"N": 2, "C": 3, "L": 4}, (3,)) == (2, 3, 4)
    assert predict_symbolic("PReLU", [["N", "C", "L"]], {"N": 2, "C": 4, "L": 4}, (3,)) is None


@pytest.mark.parametrize("k", [0, 1, 3, 64])
def test_prelu_param_count(k: int) -> None:
    assert param_count_rule("PReLU", (k,)) == param_count_torch("PReLU", (k,))


# --------------------------------------------------------------------------- GLU


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["GLU", "glu"]), shapes_st(max_rank=4, max_size=7), st.integers(-5, 4), st.data())
def test_glu(op: str, shape: Shape, dim: int, data: Any) -> None:
    kwargs = {"dim": dim} if dim != -1 or data.draw(st.booleans()) else {}
    out = check(op, [shape], (), kwargs, mask=data.draw(mask_for([shape])))
    if out is not None:
        d = dim % len(shape)
        assert out[d] * 2 == shape[d]


def test_glu_examples() -> None:
    assert check("GLU", [(2, 6)]) == (2, 3)
    assert check("GLU", [(2, 5)]) is None
    assert check("GLU", [()], (0,)) is None  # 0-d: nothing to halve
    assert check("glu", [(0,)], (0,)) == (0,)
    assert predict_symbolic("GLU", [["N", "T"]], {"N": 2, "T": 7}) is None
    assert predict_symbolic("GLU", [["N", "T"]], {"N": 2, "T": 8}) == (2, 4)


# --------------------------------------------------------------------------- softmax


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(["Softmax", "LogSoftmax", "Softmin", "softmax", "log_softmax", "softmin"]), shapes_st(),
       st.one_of(st.none(), st.integers(-6, 5)), st.data())
def test_softmax(op: str, shape: Shape, dim: int | None, data: Any) -> None:
    kwargs = {"dim": dim} if dim is not None or data.draw(st.booleans()) else {}
    assert check(op, [shape], (), kwargs, mask=data.draw(mask_for([shape]))) in (shape, None)


def test_softmax_legacy_dim() -> None:
    from shapeplan.ops.activation import legacy_softmax_dim

    for rank in range(6):
        x = torch.arange(float(2 ** rank)).reshape((2,) * rank) if rank else torch.tensor(1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            implicit = torch.nn.functional.softmax(x, dim=None)
        assert torch.equal(implicit, torch.nn.functional.softmax(x, dim=legacy_softmax_dim(rank)))


@settings(max_examples=60, deadline=None)
@given(shapes_st(max_rank=6, max_size=3), st.data())
def test_softmax2d(shape: Shape, data: Any) -> None:
    check("Softmax2d", [shape], mask=data.draw(mask_for([shape])))
