"""Per-op cost tables: MACs, buffers, and which ops return their input's memory.

- ``params``: the elements of the layer's ``nn.Parameter``s, as
  ``sum(p.numel() for p in module.parameters())`` counts them; ``trainable``: those with
  ``requires_grad=True`` (every parameter a torch module creates; a ``Parameter`` layer may
  say ``requires_grad: false``); ``buffers``: the non-trainable state (``module.buffers()``):
  BatchNorm's and InstanceNorm's running mean and variance and ``num_batches_tracked``
  (2*C + 1 with ``track_running_stats``), and ``Buffer`` layers.
- ``macs``: multiply-accumulates of the layers with weights, one per use of a weight, bias
  excluded.  Conv: ``N * C_out * (C_in/groups) * prod(kernel) * prod(output spatial size)``;
  ConvTranspose: the same per *input* position, ``N * C_in * (C_out/groups) * prod(kernel) *
  prod(input spatial size)``; Linear: ``rows * in_features * out_features`` (rows: the product
  of the leading dims); Bilinear: ``rows * in1 * in2 * out``; matmul / mm / bmm / mv / dot, the
  add*mm family and F.linear: ``output elements * inner size``; F.conv*d and F.conv_transpose*d:
  the module's, from the weight's shape; scaled_dot_product_attention:
  ``batch * L * S * (E + Ev)``; MultiheadAttention: its four projections and its two
  attention products.  Every other op counts 0 MACs: activations, norms,
  pooling, resizing, padding, elementwise arithmetic, reductions, embeddings (a lookup),
  reshapes, indexing.
- ``flops = 2 * macs``: the convention of ``torch.utils.flop_counter.FlopCounterMode`` (a
  multiply and an add per MAC, bias ignored).  FlopCounterMode agrees on Conv, ConvTranspose,
  Linear, mm, bmm, batched matmul, addmm, baddbmm, scaled_dot_product_attention and
  MultiheadAttention; it counts 0 for a matrix-vector or vector-vector matmul, for addbmm and
  for Bilinear, which shapeplan counts as above.
- memory: ``elements`` is the number of elements of the layer's output, ``bytes`` that times
  the dtype's size (:data:`DTYPES`; every tensor is counted at that dtype).  Ops that return
  their input or a view of it allocate nothing: ``inplace=True``, Identity, dropout in eval
  mode, view / permute / transpose / squeeze / unsqueeze / unflatten / expand / narrow /
  indexing / detach, a cast to ``dtype`` itself (``.float()`` at float32, ``type_as``), and
  flatten / reshape / contiguous unless their input is not contiguous (a permute, a
  transpose, an expand, or an indexing or narrow of a dim after the first, without a copy
  since; then they copy).  Parameters and buffers (also ``Parameter`` / ``Buffer`` layers)
  are module state, not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...core.dims import Dim, floordiv, norm, prod

if TYPE_CHECKING:
    from ..propagate import LayerResult

DTYPES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}

CONVENTION = (
    "MACs count the multiply-accumulates of Conv, ConvTranspose, Linear, Bilinear, matmul/mm/bmm and F.linear, one per "
    "use of a weight, bias excluded (and of the other products: addmm, baddbmm, F.conv*d, attention, "
    "MultiheadAttention); every other op counts 0. FLOPs = 2 x MACs, as "
    "torch.utils.flop_counter.FlopCounterMode counts them."
)


# --------------------------------------------------------------------------- MACs and buffers


def _conv_macs(n: int, transposed: bool) -> Callable[[LayerResult], Dim]:
    def macs(r: LayerResult) -> Dim:
        x, a = r.inputs[0], r.args
        assert r.shape is not None
        batch = x[0] if len(x) == n + 2 else 1
        k = prod(a["kernel_size"])
        if transposed:
            per = a["in_channels"] * floordiv(a["out_channels"], a["groups"])
            return norm(batch * prod(x[-n:]) * per * k)
        per = a["out_channels"] * floordiv(a["in_channels"], a["groups"])
        return norm(batch * prod(r.shape[-n:]) * per * k)

    return macs


def _linear_macs(r: LayerResult) -> Dim:
    assert r.shape is not None
    return norm(prod(r.shape[:-1]) * r.args["in_features"] * r.args["out_features"])


def _bilinear_macs(r: LayerResult) -> Dim:
    assert r.shape is not None
    a = r.args
    return norm(prod(r.shape[:-1]) * a["in1_features"] * a["in2_features"] * a["out_features"])


def _matmul_macs(r: LayerResult) -> Dim:
    assert r.shape is not None
    return norm(prod(r.shape) * r.inputs[0][-1])


def _added_macs(r: LayerResult) -> Dim:
    """addmm / baddbmm / addbmm / addmv: the product's, output elements * inner size (addmv: mat's
    elements; addbmm: times the batches it sums)."""
    assert r.shape is not None
    x1 = r.inputs[1]
    if r.layer.op == "addmv":
        return prod(x1)
    return norm(prod(r.shape) * x1[-1] * (x1[0] if r.layer.op == "addbmm" else 1))


def _sdpa_macs(r: LayerResult) -> Dim:
    """q @ k^T and the weights @ v: batch * L * S * (E + Ev); 0 where torch returns early (an
    empty query sequence or value)."""
    assert r.shape is not None
    q, k, v = r.inputs[0], r.inputs[1], r.inputs[2]
    if any(isinstance(d, int) and d == 0 for d in (q[-2], *v)):
        return 0
    return norm(prod(r.shape[:-1]) * k[-2] * (q[-1] + r.shape[-1]))


def _mha_macs(r: LayerResult) -> Dim:
    """The q, k, v and output projections, and the two attention products (over S, plus the
    added bias_k / zero key)."""
    a, q, k, v = r.args, r.inputs[0], r.inputs[1], r.inputs[2]
    e = a["embed_dim"]
    tokens_q, tokens_k = prod(q[:-1]), prod(k[:-1])
    s_extra = int(a["add_bias_kv"]) + int(a["add_zero_attn"])
    seq_k = k[1] if len(k) == 3 and a["batch_first"] else k[0]
    return norm(2 * tokens_q * e * e + tokens_k * e * k[-1] + prod(v[:-1]) * e * v[-1]
                + 2 * tokens_q * (seq_k + s_extra) * e)


def _fconv_macs(transposed: bool) -> Callable[[LayerResult], Dim]:
    """F.conv*d: output elements * weight[1:] (in/groups * kernel); F.conv_transpose*d: the same
    per input element (weight[1:] is out/groups * kernel)."""

    def macs(r: LayerResult) -> Dim:
        assert r.shape is not None
        per = prod(r.inputs[1][1:])
        return norm(prod(r.inputs[0] if transposed else r.shape) * per)

    return macs


MACS: dict[str, Callable[[LayerResult], Dim]] = {
    "Linear": _linear_macs, "Bilinear": _bilinear_macs,
    "matmul": _matmul_macs, "mm": _matmul_macs, "bmm": _matmul_macs, "linear": _matmul_macs,
    "mv": _matmul_macs, "dot": _matmul_macs, "vdot": _matmul_macs,
    "addmm": _added_macs, "baddbmm": _added_macs, "addbmm": _added_macs, "addmv": _added_macs,
    "scaled_dot_product_attention": _sdpa_macs, "MultiheadAttention": _mha_macs,
}
# products without weights (the others are the MACs of a layer's weights)
WEIGHTLESS_MACS = frozenset({"matmul", "mm", "bmm", "linear", "mv", "dot", "vdot", "addmm", "baddbmm", "addbmm",
                             "addmv", "scaled_dot_product_attention",
                             *(f"{k}{n}d" for k in ("conv", "conv_transpose") for n in (1, 2, 3))})
for _n in (1, 2, 3):
    MACS[f"Conv{_n}d"] = _conv_macs(_n, False)
    MACS[f"ConvTranspose{_n}d"] = _conv_macs(_n, True)
    MACS[f"conv{_n}d"] = _fconv_macs(False)
    MACS[f"conv_transpose{_n}d"] = _fconv_macs(True)


def _running_stats(a: Mapping[str, Any]) -> Dim:
    return norm(2 * a["num_features"] + 1) if a["track_running_stats"] else 0


BUFFERS: dict[str, Callable[[Mapping[str, Any]], Dim]] = {"Buffer": lambda a: prod(a["shape"])}
for _d in (1, 2, 3):
    BUFFERS[f"BatchNorm{_d}d"] = _running_stats
    BUFFERS[f"InstanceNorm{_d}d"] = _running_stats


def trainable_params(op: str, a: Mapping[str, Any], params: Dim) -> Dim:
    """Parameters created with requires_grad=True: all of them, but a frozen ``Parameter``."""
    return 0 if op == "Parameter" and not a["requires_grad"] else params


# --------------------------------------------------------------------------- memory: state, views, copies


# module state read as a tensor: not activation memory
STATE_OPS = frozenset({"Parameter", "Buffer"})


# ops whose output is their input, or a view of it (no new memory)
_VIEWS = frozenset({"Identity", "permute", "transpose", "t", "movedim", "moveaxis", "squeeze", "unsqueeze", "unflatten", "Unflatten", "view",
                    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
                    "detach", "expand", "expand_as", "getitem", "narrow", "type_as"})


_VIEW_IF_CONTIGUOUS = frozenset({"flatten", "Flatten", "reshape", "contiguous"})


_DROPOUT_FNS = frozenset({"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                          "feature_alpha_dropout"})


_CASTS = {"float": "float32", "half": "float16", "double": "float64"}


def aliases(r: LayerResult, contiguous: bool, dtype: str) -> bool:
    """Does this layer return its (first) input's memory rather than new memory?"""
    op, a = r.layer.op, r.args
    if a.get("inplace") is True or op in _VIEWS:
        return True
    if op in _DROPOUT_FNS:
        return not a["training"] or a["p"] == 0
    if op in _VIEW_IF_CONTIGUOUS:  # (a reshape to the same shape is a view, whatever the strides)
        return contiguous or (op != "contiguous" and r.inputs[0] == r.shape)
    if op in _CASTS:  # every tensor is taken to be of ``dtype``: a cast to it is a no-op
        return _CASTS[op] == dtype
    return False


def keeps_order(r: LayerResult) -> bool:
    """Is a view of a contiguous tensor contiguous?  (Else a later reshape copies.)"""
    op, a, x = r.layer.op, r.args, r.inputs[0]
    rank = max(len(x), 1)
    if op == "permute":
        return [d % rank for d in a["dims"]] == list(range(rank))
    if op == "transpose":
        return a["dim0"] % rank == a["dim1"] % rank
    if op == "t":
        return len(x) < 2
    if op in ("movedim", "moveaxis"):
        src, dst = a["source"], a["destination"]
        return [d % rank for d in ((src,) if isinstance(src, int) else src)] == \
            [d % rank for d in ((dst,) if isinstance(dst, int) else dst)]
    if op in ("expand", "expand_as"):
        return r.shape == x
    if op == "narrow":
        return a["dim"] % rank == 0
    if op == "getitem":
        return _getitem_contiguous(a["index"], len(x))
    return True


def _getitem_contiguous(index: Sequence[Any], rank: int) -> bool:
    """Basic indexing keeps a contiguous tensor contiguous when it only restricts leading dims:
    ints, then at most one step-1 slice, every later dim untouched."""
    items = [i for i in index if i is not None]
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items = items[:k] + [slice(None)] * (rank - len(items) + 1) + items[k + 1:]
    state = "ints"
    for item in items:
        full = isinstance(item, slice) and item.start is None and item.stop is None and item.step in (None, 1)
        if state == "ints" and not isinstance(item, slice):
            continue
        if state == "ints" and isinstance(item, slice):
            state = "slice" if item.step in (None, 1) else "bad"
            continue
        if not full:
            return False
    return state != "bad"
