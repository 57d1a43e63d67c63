"""MACs per op (multiply-accumulates; see :mod:`shapeplan.analysis.costs` for the convention):
the rules of the ops that multiply by weights or by another tensor.  Every other op counts 0."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.dims import Dim, floordiv, norm, prod

if TYPE_CHECKING:
    from .propagate import LayerResult


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

__all__ = ["MACS", "WEIGHTLESS_MACS"]
