"""The networks benchmarked: four torch models at full (torchvision) width, built on the
meta device from the fixture architectures in tests/fixtures, and layer chains of any length.

Nothing here imports torch at module level: the chains are plain dicts (net.yaml documents),
so the scaling section runs without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TorchNet:
    key: str
    label: str
    what: str  # the configuration, in words
    in_channels: int
    size: int  # the one concrete size H = W used by the one-size tools
    factory: Callable[[], Any]  # builds the nn.Module (called under torch.device("meta"))
    params: int  # torchvision's parameter count for this configuration (a check on the build)


def _lenet() -> Any:
    from tests.fixtures.classic import Net

    return Net()


def _resnet50() -> Any:
    from tests.fixtures.resnet import Bottleneck, ResNet

    return ResNet(Bottleneck, [3, 4, 6, 3])  # base_planes 64, 1000 classes: torchvision's resnet50()


def _densenet121() -> Any:
    from tests.fixtures.classic import DenseNet

    return DenseNet(growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64, bn_size=4)


def _hrnet() -> Any:
    from tests.fixtures.hrnet import HRNet

    return HRNet(c=32, num_classes=19, stem_channels=64, num_blocks=4)


TORCH_NETS: dict[str, TorchNet] = {
    n.key: n
    for n in (
        TorchNet("lenet", "LeNet", "the PyTorch tutorial CNN (1 input channel; fc1 wants 16*5*5 features)",
                 1, 32, _lenet, 61_706),
        TorchNet("resnet50", "ResNet-50", "torchvision resnet50(): Bottleneck [3, 4, 6, 3], widths 64..2048",
                 3, 224, _resnet50, 25_557_032),
        TorchNet("densenet121", "DenseNet-121", "torchvision densenet121(): blocks [6, 12, 24, 16], growth 32, "
                 "bn_size 4, 64 initial features", 3, 224, _densenet121, 7_978_856),
        TorchNet("hrnet", "HRNet-W32-style", "segmentation HRNet, branches 32/64/128/256 at 1/4..1/32, stem 64, "
                 "4 BasicBlocks per branch, one module per stage, 19 classes", 3, 224, _hrnet, 0),
    )
}


def build_meta(net: TorchNet) -> Any:
    """The model on the meta device (no memory, no initialisation), in eval mode."""
    import torch

    with torch.device("meta"):
        model = net.factory()
    model.eval()
    n = sum(p.numel() for p in model.parameters())
    if net.params and n != net.params:
        raise AssertionError(f"{net.label}: {n:,} parameters, torchvision has {net.params:,}")
    return model


def input_shape(net: TorchNet) -> tuple[Any, ...]:
    return ("N", net.in_channels, "H", "W")


# --------------------------------------------------------------------------- chains

CHAIN_KINDS: dict[str, str] = {
    "conv_pad1": "Conv2d(8, 8, 3, padding=1) / ReLU, as a net.yaml dict (H, W unchanged)",
    "linear": "Linear(16, 16) / ReLU on [N, 16], as a net.yaml dict",
    "conv_pad0": "Conv2d(8, 8, 3) / ReLU, unpadded: a new expression H - 2k and a new condition per conv",
    "torch_conv_pad1": "nn.Sequential of Conv2d(8, 8, 3, padding=1) / ReLU on the meta device: from_torch + check",
}


def chain_dict(n_layers: int, kind: str) -> dict[str, Any]:
    """A net.yaml document: a chain of ``n_layers`` layers (``kind`` from CHAIN_KINDS, not torch_*)."""
    if kind == "linear":
        pair: list[dict[str, Any]] = [{"op": "Linear", "in_features": 16, "out_features": 16}, {"op": "ReLU"}]
        inp: list[Any] = ["N", 16]
    elif kind in ("conv_pad1", "conv_pad0"):
        pad = 1 if kind == "conv_pad1" else 0
        pair = [{"op": "Conv2d", "in_channels": 8, "out_channels": 8, "kernel_size": 3, "padding": pad},
                {"op": "ReLU"}]
        inp = ["N", 8, "H", "W"]
    else:
        raise ValueError(f"unknown chain kind {kind!r}")
    return {"name": f"Chain_{kind}_{n_layers}", "input": inp,
            "layers": [dict(pair[i % 2]) for i in range(n_layers)]}


def chain_module(n_layers: int) -> Any:
    """The conv_pad1 chain as an nn.Sequential on the meta device."""
    import torch
    from torch import nn

    with torch.device("meta"):
        return nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) if i % 2 == 0 else nn.ReLU()
                               for i in range(n_layers)]).eval()
