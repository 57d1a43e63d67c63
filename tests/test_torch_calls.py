"""Calls as real model code writes them, each compared with torch's CPU forward at many sizes:
optional tensors passed as None by position (``F.conv2d(x, w, None, 2)``, ``F.batch_norm(x, None,
None, w, b, training=True)`` as timm's NF nets write it), ``torch.einsum(eq, a, b)``, module calls
with keyword arguments that change no shape (``attn(q, k, v, need_weights=False)``) and tuple
results unpacked, ``torch.meshgrid``, ``x.new_full(size, stride[i])``, ``mask[a:b, c:d] = k``,
slice bounds whose sign depends on the size, and window partitions viewed back with ``-1``."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

import shapeplan
from tests.test_torch_paths import agree_with_torch, grid

torch.set_num_threads(1)


class FunctionalConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 3, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.w, None, 2, 1, 1, 1)


def test_functional_conv_with_bias_none_by_position() -> None:
    agree_with_torch(FunctionalConv(), ("N", 3, "H", "W"), grid(range(1, 9), range(1, 5)))
    src = shapeplan.emit(shapeplan.from_torch(FunctionalConv(), ("N", 3, "H", "W")))
    assert "F.conv2d(x, w, stride=(2, 2), padding=(1, 1))" in src


class ScaledWeightConv(nn.Conv2d):
    """timm's ScaledStdConv2d: the weight standardised by F.batch_norm with no running stats."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                              weight=torch.ones(self.out_channels), training=True, momentum=0.0,
                              eps=1e-5).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding)


def test_batch_norm_without_running_stats() -> None:
    rep = agree_with_torch(ScaledWeightConv(3, 5, 3, padding=1), ("N", 3, "H", "W"), grid(range(1, 6), range(1, 4)))
    assert rep.ok
    src = shapeplan.emit(shapeplan.from_torch(ScaledWeightConv(3, 5, 3), ("N", 3, "H", "W")))
    assert "F.batch_norm(" in src and ", None, None, weight=" in src


class Attention(nn.Module):
    """torchvision's ViT encoder block: ``x, _ = self.attn(x, x, x, need_weights=False)``."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.attn(x, x, x, need_weights=False)
        z = self.attn(y, x, x, key_padding_mask=None)[0]
        return torch.einsum("nlc,nmc->nlm", y, z)


def test_attention_keywords_tuple_results_and_einsum() -> None:
    agree_with_torch(Attention(), ("N", "L", 8), grid(range(1, 6), names=("L",), n=2))


class CausalByKeyword(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, is_causal=True)[0]  # torch: is_causal needs attn_mask


def test_a_keyword_that_matters_is_refused_at_the_line() -> None:
    try:
        shapeplan.from_torch(CausalByKeyword(), ("L", "N", 8))
    except shapeplan.InputError as e:
        assert "is_causal=True" in str(e) and "test_torch_calls.py" in str(e)
    else:
        raise AssertionError("is_causal=True without a mask was taken as harmless")


class Anchors(nn.Module):
    """ultralytics' make_anchors: arange, meshgrid, stack, and new_full of a stride tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("stride", torch.tensor([8.0, 16.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        sx = torch.arange(w).type_as(x) + 0.5
        sy = torch.arange(h).type_as(x) + 0.5
        sy, sx = torch.meshgrid(sy, sx, indexing="ij")
        points = torch.stack((sx, sy), -1).view(-1, 2)
        gx, gy = torch.meshgrid(torch.arange(w), torch.arange(3), indexing="xy")
        strides = x.new_full((h * w, 1), self.stride[0])
        return torch.cat([points, strides, gx.reshape(-1, 1)[: h * w].float()], 1)  # 3*W rows: valid for H <= 3


def test_meshgrid_and_new_full_of_a_tensor() -> None:
    agree_with_torch(Anchors(), ("N", 3, "H", "W"), grid(range(1, 7), range(1, 6)))


class ShiftedWindowMask(nn.Module):
    """torchvision's Swin: a mask filled by slices, its bounds counted from the end."""

    def __init__(self, window: int = 4, shift: int = 2) -> None:
        super().__init__()
        self.window, self.shift = window, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (self.window - h % self.window) % self.window, (self.window - w % self.window) % self.window
        x = F.pad(x, (0, pw, 0, ph))
        mask = x.new_zeros((h + ph, w + pw))
        for a in ((0, -self.window), (-self.window, -self.shift), (-self.shift, None)):
            mask[a[0]:a[1], :] = 1
        edge = x[..., h // 2 - self.window:, :]  # a bound whose sign depends on h
        return mask.view((h + ph) // self.window, self.window, -1) + edge.sum() * 0, edge


def test_slice_assignment_and_bounds_of_either_sign() -> None:
    agree_with_torch(ShiftedWindowMask(), ("N", 3, "H", "W"), grid(range(1, 19), range(1, 7)))


class WindowPartition(nn.Module):
    """MaxViT's window partition and its reverse: the -1 is N exactly where 7 divides H and W."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.view(n, c, h // 7, 7, w // 7, 7).permute(0, 2, 4, 3, 5, 1).reshape(-1, 7, 7, c)
        return x.view(-1, h, w, c)


def test_window_partition_viewed_back_with_minus_one() -> None:
    sizes = [e for n in (1, 2) for e in grid(range(5, 30, 2), range(6, 23, 3), n=n)]
    rep = agree_with_torch(WindowPartition(), ("N", 3, "H", "W"), sizes)
    assert rep.domain.contains(N=2, H=14, W=21) and not rep.domain.contains(N=2, H=15, W=21)


class Twice(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        y = x.relu()
        return y, {"proto": y}


def test_a_tensor_returned_twice_is_two_outputs() -> None:
    net = shapeplan.from_torch(Twice(), ("N", 3))
    assert net.outputs == ("relu", "relu")


class ManyWays(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.shape[-1]
        for k in range(9):  # 512 ways
            if (h // 2**k) % 2:
                x = x + 1
        return x


def test_too_many_ways_is_an_error_at_forward() -> None:
    try:
        shapeplan.from_torch(ManyWays(), ("N", "H"))
    except shapeplan.InputError as e:
        d = e.diagnostics[0]
        assert d.code == "trace" and "more than 256 ways" in d.message and "(H, N)" in d.message
        assert d.location is not None and d.location.file.endswith("test_torch_calls.py")
    else:
        raise AssertionError("512 ways were followed")


class KeyValueLengths(nn.Module):
    """Key and value of different lengths: torch's CPU flash kernel runs them (it never compares
    the two), its math path refuses; a query whose last dim is not contiguous takes math."""

    def __init__(self, transposed: bool) -> None:
        super().__init__()
        self.transposed = transposed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = x.transpose(-1, -2).contiguous().transpose(-1, -2) if self.transposed else x
        k = x[:, :, : x.shape[2] // 2 + 1]
        return F.scaled_dot_product_attention(q, k, x)


def test_sdpa_key_and_value_of_different_lengths() -> None:
    sizes = grid(range(1, 7), names=("L",), n=2)
    rep = agree_with_torch(KeyValueLengths(False), ("N", 2, "L", 4), sizes)
    assert rep.domain.contains(N=2, L=3)
    rep = agree_with_torch(KeyValueLengths(True), ("N", 2, "L", 4), sizes)
    assert not rep.domain.contains(N=2, L=3) and rep.domain.contains(N=2, L=1)


class InferredOverASize(nn.Module):
    """A -1 over a number divided by a size (48 / (H//8)): torch infers it where the size
    divides 48; a case per divisor.  The factory takes its sizes one by one (a formula among them)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.zeros(x.shape[0], 48)
        return p.reshape(x.shape[0], -1, x.shape[2] // 8) + torch.ones(x.shape[0], 1, 1)


def test_minus_one_over_a_size_is_a_case_per_divisor() -> None:
    rep = agree_with_torch(InferredOverASize(), ("N", 3, "H", 4), grid(range(1, 400, 3), names=("H",), n=2))
    assert rep.domain.contains(N=1, H=8 * 12) and not rep.domain.contains(N=1, H=8 * 5)
    assert rep.domain.contains(N=1, H=8 * 48 + 7) and not rep.domain.contains(N=1, H=8 * 49)
    assert list(rep.at(N=1, H=8 * 16 + 3).values())[-1] == (1, 3, 16)


class Pairs(nn.Module):
    """The second item of a pair, used: max's indices, sort's, var_mean's mean, topk's indices,
    a max pool's (each its own layer, made only where forward uses it)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool1d(2, return_indices=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        v, i = x.max(1)
        _, j = torch.sort(x, 2, descending=True)
        _, mean = torch.var_mean(x, 1, keepdim=True)
        top = torch.topk(x, 1, dim=2)
        unused_values, unused_indices = x.min(2)
        _, where = self.pool(x)
        return v + i.float(), j, mean, top.indices, top.values, F.max_pool1d(x, 2, return_indices=True)[1], where


def test_pairs_second_items() -> None:
    rep = agree_with_torch(Pairs(), ("N", 3, "H"), grid(range(1, 6), names=("H",), n=2))
    net = shapeplan.from_torch(Pairs(), ("N", 3, "H"))
    ops = [layer.op for layer in net.layers]
    assert ops.count("argmax") == 1 and ops.count("argsort") == 1 and "argmin" not in ops  # made where used
    model, x = shapeplan.build(net), torch.rand(2, 3, 5)
    for mine, theirs in zip(model(x), Pairs()(x), strict=True):
        assert torch.allclose(mine.float(), theirs.float()), (mine, theirs)
    assert len(rep.outputs) == 7
