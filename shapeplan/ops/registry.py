"""The op registry: an op is one :class:`OpSpec` (its PyTorch name, its parameters in PyTorch's
positional order with defaults, how many tensors it reads) and a *rule*, a pure function

    rule(ctx, xs, a) -> Shape

``xs`` are the input shapes, ``a`` the bound, normalised arguments (:func:`bind`).  The rule
returns the output shape and states, through ``ctx.require(...)``, every condition under which
PyTorch accepts the input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..core.dims import Dim, Shape
from .ctx import ArgError, RuleCtx, _fs
from .params import AUTO, REQUIRED, SOLVE, Converter, pair_item_t


@dataclass(frozen=True)
class Param:
    name: str
    conv: Converter
    default: Any = REQUIRED
    auto: Callable[[Sequence[Shape]], Any] | None = None  # how `auto` is inferred
    solvable: bool = False  # may be `solve`
    doc: str = ""
    kw_only: bool = False  # keyword-only in torch (dtype=, device=...): never written by position


Rule = Callable[[RuleCtx, list[Shape], dict[str, Any]], Shape]
# an op whose torch result is a pair of one shape (topk, max_pool2d_with_indices): which item the
# layer is (emitted code indexes the call's result with it)
PAIR_ITEM = Param("item", pair_item_t, 0, doc="0: the values, 1: the indices", kw_only=True)
ParamCount = Callable[[dict[str, Any]], Dim]
CallStyle = Literal["args", "list", "method", "method_star", "star", "positional", "params_first", "getitem",
                    "index", "parameter", "buffer"]


@dataclass(frozen=True)
class OpSpec:
    """One op: its PyTorch name, signature, arity and shape rule."""

    name: str
    kind: Literal["module", "function"]
    params: tuple[Param, ...]
    rule: Rule
    n_inputs: tuple[int, int | None] = (1, 1)  # (min, max); max None: any number
    param_count: ParamCount | None = None
    torch_name: str = ""  # e.g. "nn.Conv2d", "torch.cat", "F.interpolate", "Tensor.view"
    doc: str = ""
    # how a function op is called: f(x, y, kw=..) ("args"), f([x, y], kw=..) ("list"),
    # x.f(kw=..) ("method"), x.f(*shape) ("method_star": the first parameter is unpacked),
    # torch.f(*shape, kw=..) ("star": a function whose first parameter is unpacked, as
    # torch.zeros(2, 3)), torch.f(a, b, kw=..) ("positional": the parameters that are not
    # keyword-only are written by position, as torch.arange(0, n) must be),
    # torch.f(a, *tensors, kw=..) ("params_first": the required parameters come before the
    # tensors, as in torch.einsum('ij,jk', x, y)), or x[index] ("getitem": the first parameter
    # is the index).  A module op with no input is a tensor attribute, used as ``self.name``
    # in forward: nn.Parameter(torch.zeros(shape)) ("parameter") or
    # self.register_buffer(name, torch.zeros(shape)) ("buffer").
    call_style: CallStyle = "args"
    # torch's names of the tensor inputs, for an op whose optional inputs are passed by keyword
    # (F.layer_norm(x, weight=w, bias=b)): inputs past the n_inputs[0] required ones are
    # written as ``name=value`` in emitted code
    input_names: tuple[str, ...] = ()
    # torch returns a tuple ((values, indices), (attn_output, attn_weights)): the op's one
    # output is this item of it (emitted code indexes the call's result)
    output_index: int | None = None
    # how many leading inputs emitted code passes by position (None: the required ones); the
    # others by their input_names (torch.gather(x, dim=1, index=i): the index comes after dim)
    positional_inputs: int | None = None
    # the tuple's other item has the same shape (sort's indices, var_mean's mean): a real tensor
    # of the traced forward, not an opaque value
    paired: bool = False

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


REGISTRY: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"op {spec.name} registered twice")
    REGISTRY[spec.name] = spec
    return spec


def op(
    name: str,
    *params: Param,
    kind: Literal["module", "function"] | None = None,
    n_inputs: tuple[int, int | None] = (1, 1),
    param_count: ParamCount | None = None,
    torch_name: str = "",
    aliases: Sequence[str] = (),
    call_style: CallStyle = "args",
    input_names: Sequence[str] = (),
    output_index: int | None = None,
    positional_inputs: int | None = None,
    paired: bool = False,
) -> Callable[[Rule], Rule]:
    """Decorator: register ``rule`` under ``name`` (and ``aliases``) with its signature.

    ``torch_name`` says what emitted code calls: ``nn.X`` for modules (default), else
    ``torch.f`` (default for functions), ``F.f`` (torch.nn.functional) or ``Tensor.f``
    (a method, with ``call_style="method"``).  For aliases the alias name replaces the
    last component of ``torch_name``.
    """

    def deco(rule: Rule) -> Rule:
        k = kind or ("module" if name[:1].isupper() else "function")
        for n in (name, *aliases):
            if torch_name:
                tn = torch_name if n == name else torch_name.rsplit(".", 1)[0] + "." + n
            else:
                tn = f"nn.{n}" if k == "module" else f"torch.{n}"
            register(OpSpec(n, k, tuple(params), rule, n_inputs, param_count, tn, (rule.__doc__ or "").strip(),
                            call_style, tuple(input_names), output_index, positional_inputs, paired))
        return rule

    return deco


def channels(dim: int = 1, batched_rank: int | None = None) -> Callable[[Sequence[Shape]], Dim]:
    """`auto` inference: the size of ``dim`` of the first input.

    With ``batched_rank``, an input of rank ``batched_rank - 1`` is unbatched and the
    channel dim shifts left by one (torch's Conv/Pool accept both).
    """

    def infer(xs: Sequence[Shape]) -> Dim:
        x = xs[0]
        d = dim
        if batched_rank is not None and len(x) == batched_rank - 1 and dim > 0:
            d = dim - 1
        if not -len(x) <= d < len(x):
            raise ArgError(f"cannot infer: input {_fs(x)} has no dim {dim}")
        return x[d]

    return infer


def last_dim(xs: Sequence[Shape]) -> Dim:
    if not xs[0]:
        raise ArgError("cannot infer from a 0-d input")
    return xs[0][-1]


def norm_dim(d: int, rank: int, ctx: RuleCtx, what: str = "dim") -> int:
    """Wrap a possibly negative dim index as torch does; fail when out of range."""
    r = max(rank, 1)
    if not -r <= d < r:
        ctx.fail("dim", f"{what}={d} is out of range for a {rank}D input (expected -{r} to {r - 1})")
    return d % r


def bind(spec: OpSpec, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Bind YAML ``args`` / keyword values to ``spec``'s parameters, as Python would.

    Values are converted and checked; ``auto`` and ``solve`` stay as markers.  Raises
    :class:`ArgError` naming the parameter.
    """
    names = [p.name for p in spec.params]
    optional_tensors = max(0, len(spec.input_names) - spec.n_inputs[0])
    if len(names) < len(args) <= len(names) + optional_tensors and all(v is None for v in args[len(names):]):
        args = args[:len(names)]  # torch.diff(x, 1, -1, None, None): optional tensors left out, by position
    if len(args) > len(names):
        raise ArgError(
            f"{spec.name} takes at most {len(names)} positional arguments ({', '.join(names) or 'none'}), got {len(args)}"
        )
    raw: dict[str, Any] = {}
    for p, v in zip(spec.params, args):
        raw[p.name] = v
    for k, v in kwargs.items():
        if k not in names:
            close = [n for n in names if n.replace("_", "") == k.replace("_", "").lower()]
            hint = f"did you mean {close[0]!r}?" if close else (
                f"{spec.name} takes: {', '.join(names)}" if names else f"{spec.name} takes no arguments"
            )
            raise ArgError(f"{spec.name} got an unexpected argument {k!r}", param=k, hint=hint)
        if k in raw:
            raise ArgError(f"{spec.name} got multiple values for argument {k!r}", param=k)
        raw[k] = v
    out: dict[str, Any] = {}
    for p in spec.params:
        if p.name not in raw:
            if p.default is REQUIRED:
                hint = f"add {p.name}: auto" if p.auto else f"add {p.name}: <value>"
                raise ArgError(f"{spec.name} is missing the required argument {p.name!r}", param=p.name, hint=hint)
            out[p.name] = _default(p)
            continue
        v = raw[p.name]
        if v == "auto" and isinstance(v, str):
            if p.auto is None:
                raise ArgError(f"{p.name} cannot be 'auto' (it is not inferred from the input shape)", param=p.name)
            out[p.name] = AUTO
            continue
        if v == "solve" and isinstance(v, str):
            if not p.solvable:
                raise ArgError(f"{p.name} cannot be 'solve'", param=p.name)
            out[p.name] = SOLVE
            continue
        try:
            out[p.name] = p.conv(v)
        except ArgError as e:
            raise ArgError(f"{spec.name} argument {p.name}: {e.message}", param=p.name, hint=e.hint) from None
    return out


def _default(p: Param) -> Any:
    if p.default is None:
        return None
    try:
        return p.conv(p.default)
    except ArgError:
        return p.default


def resolve_auto(spec: OpSpec, bound: dict[str, Any], xs: Sequence[Shape]) -> dict[str, Any]:
    """Replace ``auto`` markers by the values inferred from the input shapes."""
    out = dict(bound)
    for p in spec.params:
        if out.get(p.name) is AUTO:
            assert p.auto is not None
            out[p.name] = p.auto(xs)
    return out
