"""Activations: every module of ``torch.nn.modules.activation`` but MultiheadAttention, and the
``torch.nn.functional`` forms used in forward code.

Almost all are elementwise: the output shape is the input shape, at any rank (0-d and empty
tensors included).  They differ only in their constructor signatures and in the argument
checks torch makes, so they are registered from one table (name, params, torch name, check)
with one shared rule.  The few that are not elementwise:

- PReLU: num_parameters must be 1, or equal the channel dim (dim 1; torch counts a 1-D input
  as one channel, and rejects a 0-d input unless num_parameters == 1).
- GLU: halves ``dim``, whose size must be even; 0-d inputs are rejected.
- Softmax / LogSoftmax / Softmin: ``dim`` in range; ``dim=None`` is torch's legacy choice
  (dim 0 for 0-d, 1-d and 3-d inputs, else dim 1; torch warns), emulated here.
- Softmax2d: 3-D or 4-D inputs (softmax over dim -3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.conditions import dvd, eq
from ..core.dims import Shape, floordiv, fmt
from .ctx import ArgError, RuleCtx
from .params import Converter, bool_t, choice_t, dtype_t, float_t, int_t, opt_t, with_schema
from .registry import Param, norm_dim, op

# --------------------------------------------------------------------------- converters

_FLOAT = float_t()
_FLOAT32_MAX = 3.4028234663852886e38


def _nonneg_float(v: Any) -> float:
    """Softshrink's lambd: torch needs 0 <= lambd <= the float32 max."""
    f: float = _FLOAT(v)
    if not 0 <= f <= _FLOAT32_MAX:
        raise ArgError(f"must be in [0, {_FLOAT32_MAX:g}], got {v}")
    return f


_nonneg_float.__name__ = "number >= 0"
with_schema(_nonneg_float, {"type": "number", "minimum": 0, "maximum": _FLOAT32_MAX})


def _nonzero_float(v: Any) -> float:
    """CELU's alpha: torch divides by it."""
    f: float = _FLOAT(v)
    if f == 0:
        raise ArgError("alpha cannot be 0 for CELU")
    return f


_nonzero_float.__name__ = "non-zero number"
with_schema(_nonzero_float, {"type": "number", "not": {"const": 0}})

_INT_ANY = int_t(None)
_INPLACE = Param("inplace", bool_t, False)
_APPROX = Param("approximate", choice_t("none", "tanh"), "none")


# --------------------------------------------------------------------------- argument checks


def _check_hardtanh_module(ctx: RuleCtx, a: dict[str, Any]) -> None:
    lo = a["min_value"] if a.get("min_value") is not None else a["min_val"]
    hi = a["max_value"] if a.get("max_value") is not None else a["max_val"]
    if not hi > lo:
        ctx.fail("args", f"max_val ({hi}) must be greater than min_val ({lo})",
                 hint="choose min_val < max_val", param="max_val")


def _check_hardtanh_function(ctx: RuleCtx, a: dict[str, Any]) -> None:
    if a["min_val"] > a["max_val"]:
        ctx.fail("args", f"min_val ({a['min_val']}) cannot be greater than max_val ({a['max_val']})",
                 hint="choose min_val <= max_val", param="min_val")


def _check_rrelu(ctx: RuleCtx, a: dict[str, Any]) -> None:
    if a["lower"] > a["upper"]:
        ctx.fail("args", f"lower ({a['lower']}) must be <= upper ({a['upper']})",
                 hint="choose lower <= upper", param="lower")


Check = Callable[[RuleCtx, dict[str, Any]], None]


def _elementwise(check: Check | None, what: str) -> Any:
    def rule(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
        if check is not None:
            check(ctx, a)
        return xs[0]

    rule.__doc__ = f"{what}: elementwise, (*) -> (*) at any rank"
    return rule


# --------------------------------------------------------------------------- the elementwise table

# (name, params in torch's order, torch_name ("" = nn.Name for modules, torch.name for functions), check)
_Entry = tuple[str, tuple[Param, ...], str, Check | None]

_MODULES: list[_Entry] = [
    ("Threshold", (Param("threshold", _FLOAT), Param("value", _FLOAT), _INPLACE), "", None),
    ("ReLU", (_INPLACE,), "", None),
    ("RReLU", (Param("lower", _FLOAT, 1.0 / 8), Param("upper", _FLOAT, 1.0 / 3), _INPLACE), "", _check_rrelu),
    ("Hardtanh", (Param("min_val", _FLOAT, -1.0), Param("max_val", _FLOAT, 1.0), _INPLACE,
                  Param("min_value", opt_t(_FLOAT), None), Param("max_value", opt_t(_FLOAT), None)),
     "", _check_hardtanh_module),
    ("ReLU6", (_INPLACE,), "", None),
    ("Sigmoid", (), "", None),
    ("Hardsigmoid", (_INPLACE,), "", None),
    ("Tanh", (), "", None),
    ("SiLU", (_INPLACE,), "", None),
    ("Mish", (_INPLACE,), "", None),
    ("Hardswish", (_INPLACE,), "", None),
    ("ELU", (Param("alpha", _FLOAT, 1.0), _INPLACE), "", None),
    ("CELU", (Param("alpha", _nonzero_float, 1.0), _INPLACE), "", None),
    ("SELU", (_INPLACE,), "", None),
    ("GELU", (_APPROX,), "", None),
    ("Hardshrink", (Param("lambd", _FLOAT, 0.5),), "", None),
    ("LeakyReLU", (Param("negative_slope", _FLOAT, 1e-2), _INPLACE), "", None),
    ("LogSigmoid", (), "", None),
    ("Softplus", (Param("beta", _FLOAT, 1.0), Param("threshold", _FLOAT, 20.0)), "", None),
    ("Softshrink", (Param("lambd", _nonneg_float, 0.5),), "", None),
    ("Softsign", (), "", None),
    ("Tanhshrink", (), "", None),
]

_FUNCTIONS: list[_Entry] = [
    ("relu", (_INPLACE,), "F.relu", None),
    ("relu6", (_INPLACE,), "F.relu6", None),
    ("leaky_relu", (Param("negative_slope", _FLOAT, 0.01), _INPLACE), "F.leaky_relu", None),
    ("elu", (Param("alpha", _FLOAT, 1.0), _INPLACE), "F.elu", None),
    ("selu", (_INPLACE,), "F.selu", None),
    ("celu", (Param("alpha", _nonzero_float, 1.0), _INPLACE), "F.celu", None),
    ("gelu", (_APPROX,), "F.gelu", None),
    ("silu", (_INPLACE,), "F.silu", None),
    ("mish", (_INPLACE,), "F.mish", None),
    ("sigmoid", (), "torch.sigmoid", None),
    ("tanh", (), "torch.tanh", None),
    ("hardtanh", (Param("min_val", _FLOAT, -1.0), Param("max_val", _FLOAT, 1.0), _INPLACE), "F.hardtanh",
     _check_hardtanh_function),
    ("hardsigmoid", (_INPLACE,), "F.hardsigmoid", None),
    ("hardswish", (_INPLACE,), "F.hardswish", None),
    ("softplus", (Param("beta", _FLOAT, 1.0), Param("threshold", _FLOAT, 20.0)), "F.softplus", None),
    ("threshold", (Param("threshold", _FLOAT), Param("value", _FLOAT), _INPLACE), "F.threshold", None),
    ("rrelu", (Param("lower", _FLOAT, 1.0 / 8), Param("upper", _FLOAT, 1.0 / 3), Param("training", bool_t, False),
               _INPLACE), "F.rrelu", _check_rrelu),
    ("hardshrink", (Param("lambd", _FLOAT, 0.5),), "F.hardshrink", None),
    ("softshrink", (Param("lambd", _nonneg_float, 0.5),), "F.softshrink", None),
    ("tanhshrink", (), "F.tanhshrink", None),
    ("softsign", (), "F.softsign", None),
    ("logsigmoid", (), "F.logsigmoid", None),
]

for _name, _params, _torch_name, _check in (*_MODULES, *_FUNCTIONS):
    op(_name, *_params, torch_name=_torch_name)(_elementwise(_check, _name))


# --------------------------------------------------------------------------- PReLU


@op(
    "PReLU",
    Param("num_parameters", int_t(0), 1),
    Param("init", _FLOAT, 0.25),
    param_count=lambda a: a["num_parameters"],
)
def prelu(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*) -> (*); num_parameters is 1 or the channel count (dim 1)."""
    x, k = xs[0], a["num_parameters"]
    if k != 1:
        if not x:
            ctx.fail("rank", f"num_parameters={k} needs an input with a channel dim, got a 0-d input",
                     hint="use num_parameters=1 for 0-d inputs")
        channels = x[1] if len(x) >= 2 else 1
        ctx.require(
            eq(channels, k), "num-parameters",
            f"num_parameters={k} must be 1 or the number of channels (dim 1), but the input has {fmt(channels)}"
            + ("" if len(x) >= 2 else " (a 1-D input counts as one channel)"),
            hint=f"set num_parameters: {fmt(channels)} or 1", show=channels if len(x) >= 2 else None,
            param="num_parameters",
        )
    return x


# --------------------------------------------------------------------------- GLU


def _glu(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*, 2n, *) -> (*, n, *): splits `dim` in halves."""
    x = xs[0]
    if not x:
        ctx.fail("rank", "does not support 0-d inputs (it halves a dim)")
    d = norm_dim(a["dim"], len(x), ctx)
    ctx.require(dvd(x[d], 2), "odd", f"halves dim {a['dim']}, whose size must be even, but it is {fmt(x[d])}",
                hint="make that dim even, or choose another dim", show=x[d])
    return (*x[:d], floordiv(x[d], 2), *x[d + 1:])


op("GLU", Param("dim", _INT_ANY, -1))(_glu)
op("glu", Param("dim", _INT_ANY, -1), torch_name="F.glu")(_glu)


# --------------------------------------------------------------------------- softmax family


def legacy_softmax_dim(rank: int) -> int:
    """torch's choice for ``dim=None`` (deprecated, with a warning): 0 for 0-d, 1-d, 3-d inputs, else 1."""
    return 0 if rank in (0, 1, 3) else 1


def _softmax(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(*) -> (*), normalising over `dim` (dim=None: torch's legacy implicit choice)."""
    x = xs[0]
    if a["dim"] is not None:
        norm_dim(a["dim"], len(x), ctx)
    return x


_DIM: Converter = opt_t(_INT_ANY)
for _name in ("Softmax", "LogSoftmax", "Softmin"):
    op(_name, Param("dim", _DIM, None))(_softmax)
for _name in ("softmax", "log_softmax", "softmin"):  # F.softmax(input, dim, _stacklevel, dtype)
    op(_name, Param("dim", _DIM, None), Param("dtype", opt_t(dtype_t), None, kw_only=True),
       torch_name=f"F.{_name}")(_softmax)


@op("Softmax2d")
def softmax2d(ctx: RuleCtx, xs: list[Shape], a: dict[str, Any]) -> Shape:
    """(N, C, H, W) or (C, H, W) -> same, softmax over the channels."""
    ctx.rank(xs[0], (3, 4), "(C, H, W) or (N, C, H, W)")
    return xs[0]
