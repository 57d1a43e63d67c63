"""The real-model corpus: models from the packages people use, built without weights, as the
yardstick of the torch front end.

Every entry names a constructor of an installed package (torchvision, timm,
segmentation_models_pytorch, MONAI, ultralytics, the d2l book package) by its dotted path with
keyword arguments, so that an entry is plain data: its ``spec`` (what is built, at which
input) keys the cached truth (tests/realmodels/truth.json, written by tools/real_truth.py).
No weights are ever loaded: ``weights=None``, ``pretrained=False``, ``encoder_weights=None``,
ultralytics models from their YAML, and :func:`offline` turns every network access into an
error while a model is built.

``sizes`` are the concrete input sizes at which torch's eval-mode forward is the truth: small
and odd sizes where CNNs start to reject inputs, multiples and non-multiples of 32, non-square.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Size = Mapping[str, int]

# The packages whose versions decide an entry's truth (torch always).
FAMILY_PACKAGES: dict[str, tuple[str, ...]] = {
    "torchvision": ("torch", "torchvision"),
    "timm": ("torch", "timm"),
    "smp": ("torch", "segmentation_models_pytorch", "timm"),
    "monai": ("torch", "monai"),
    "ultralytics": ("torch", "ultralytics"),
    "d2l": ("torch", "d2l"),
}

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "YOLO_OFFLINE": "1", "YOLO_VERBOSE": "False",
               "TORCH_HOME": "/nonexistent-torch-home"}


@dataclass(frozen=True)
class Entry:
    """One model of the corpus: how to build it, its symbolic input, the sizes to compare at."""

    id: str
    family: str
    factory: str  # dotted path of the constructor
    kwargs: Mapping[str, Any]
    input_shape: tuple[int | str, ...]
    sizes: tuple[Size, ...]
    init: tuple[int, ...] | None = None  # one forward at this shape after building (Lazy modules)
    lazy: bool = False  # uninitialised Lazy modules: a fresh model for every forward
    note: str = ""
    slow: bool = False  # minutes of analysis (hundreds of cases): run with SHAPEPLAN_SLOW=1
    args: tuple[Any, ...] = field(default=())

    @property
    def spec(self) -> str:
        """What the entry builds and where it is evaluated, as text (the cache checks it)."""
        return json.dumps({"factory": self.factory, "args": list(self.args), "kwargs": dict(self.kwargs),
                           "input": list(self.input_shape), "init": self.init, "lazy": self.lazy},
                          sort_keys=True, default=repr)

    def build(self) -> Any:
        """The model, in eval mode, on the CPU, with freshly initialised (never loaded) weights."""
        import torch

        with offline():
            module_name, _, attr = self.factory.rpartition(".")
            fn: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
            torch.manual_seed(0)
            model = fn(*self.args, **dict(self.kwargs))
            model.eval()
            if self.init is not None:
                with torch.no_grad():
                    model(torch.zeros(self.init))
        return model

    def concrete(self, size: Size) -> tuple[int, ...]:
        """The input shape at ``size`` (every symbol of ``input_shape`` given)."""
        return tuple(d if isinstance(d, int) else int(size[d]) for d in self.input_shape)


def size_key(size: Size) -> str:
    """The cache key of a size: ``N=1,H=32,W=32``."""
    return ",".join(f"{k}={v}" for k, v in size.items())


def parse_key(key: str) -> dict[str, int]:
    """The size of a cache key (inverse of :func:`size_key`)."""
    return {k: int(v) for k, v in (part.split("=") for part in key.split(","))}


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Every attempt to reach the network fails while building a model (a download would be a bug)."""
    os.environ.update(OFFLINE_ENV)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError(f"network access refused while building a corpus model: {args[:2]!r}")

    saved = socket.socket.connect, socket.getaddrinfo, socket.create_connection
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.getaddrinfo = refuse
    socket.create_connection = refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.getaddrinfo, socket.create_connection = saved  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------- sizes

# (N, H, W): tiny and odd sizes, around 16 / 32 / 64 / 128, multiples and non-multiples of 32, non-square.
_HW: tuple[tuple[int, int, int], ...] = (
    (1, 1, 1), (2, 2, 2), (1, 3, 3), (1, 4, 4), (1, 5, 7), (1, 6, 6), (1, 7, 7), (2, 8, 8), (2, 9, 9),
    (1, 11, 13), (1, 15, 15), (1, 16, 16), (2, 17, 17), (1, 23, 24), (1, 31, 31), (1, 32, 32), (2, 33, 33),
    (1, 31, 64), (1, 47, 48), (1, 48, 48), (1, 63, 63), (1, 64, 64), (1, 65, 65), (1, 64, 96),
    (2, 96, 96), (1, 127, 127), (1, 128, 128), (1, 128, 96), (1, 160, 160), (1, 161, 97), (1, 224, 224), (1, 225, 223),
)
# (N, D, H, W) for 3D networks
_DHW: tuple[tuple[int, int, int, int], ...] = (
    (1, 1, 1, 1), (1, 2, 2, 2), (1, 3, 4, 5), (1, 7, 7, 7), (1, 8, 8, 8), (2, 8, 8, 8), (1, 9, 9, 9),
    (1, 12, 16, 20), (1, 15, 15, 15), (1, 16, 16, 16), (2, 16, 16, 16), (1, 17, 17, 17), (1, 16, 24, 32),
    (1, 24, 24, 24), (1, 31, 32, 33), (1, 32, 32, 32), (1, 33, 33, 33), (1, 40, 40, 40), (1, 48, 32, 16),
    (1, 64, 64, 64),
)


def _hw(extra: Sequence[tuple[int, int, int]] = ()) -> tuple[Size, ...]:
    return tuple({"N": n, "H": h, "W": w} for n, h, w in (*_HW, *extra))


def _dhw(extra: Sequence[tuple[int, int, int, int]] = ()) -> tuple[Size, ...]:
    return tuple({"N": n, "D": d, "H": h, "W": w} for n, d, h, w in (*_DHW, *extra))


def _thw() -> tuple[Size, ...]:
    """(N, T, H, W) for video networks: small clips."""
    pts = ((1, 1, 1, 1), (1, 1, 16, 16), (1, 2, 32, 32), (1, 3, 3, 3), (1, 4, 7, 9), (1, 4, 16, 16),
           (2, 4, 17, 17), (1, 8, 32, 32), (1, 8, 31, 33), (1, 5, 64, 64), (1, 16, 32, 48), (1, 16, 64, 64),
           (1, 7, 15, 15), (1, 2, 8, 8), (1, 9, 33, 31), (1, 16, 112, 112), (2, 8, 56, 56), (1, 1, 112, 112),
           (1, 12, 40, 24), (1, 6, 65, 63))
    return tuple({"N": n, "T": t, "H": h, "W": w} for n, t, h, w in pts)


IMG = ("N", 3, "H", "W")
VOL = ("N", 1, "D", "H", "W")

# ------------------------------------------------------------------------------------- entries

_TV = "torchvision.models."
_TV_CLASSIFIERS: dict[str, dict[str, Any]] = {
    "alexnet": {}, "vgg11": {}, "vgg11_bn": {}, "resnet18": {}, "resnet50": {}, "resnext50_32x4d": {},
    "wide_resnet50_2": {}, "densenet121": {}, "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False}, "mobilenet_v2": {}, "mobilenet_v3_small": {},
    "mobilenet_v3_large": {}, "efficientnet_b0": {}, "efficientnet_v2_s": {}, "mnasnet0_5": {},
    "regnet_x_400mf": {}, "regnet_y_400mf": {}, "shufflenet_v2_x0_5": {}, "squeezenet1_0": {},
    "squeezenet1_1": {}, "convnext_tiny": {}, "vit_b_16": {}, "swin_t": {}, "maxvit_t": {},
}
_TV_SEG = ("fcn_resnet50", "deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")

_TIMM_CNN = (
    "resnet18", "resnet50d", "seresnext26d_32x4d", "resnet10t", "skresnet18", "resnetv2_50", "regnetx_002",
    "regnety_002", "regnetz_005", "efficientnet_b0", "tf_efficientnet_lite0", "mixnet_s", "mobilenetv3_small_050",
    "mobilenetv4_conv_small", "convnext_atto", "rexnet_100", "repvgg_a0", "mobileone_s0", "cspdarknet53",
    "cspresnet50", "darknet53", "dpn68", "xception41", "legacy_xception", "ese_vovnet19b_dw", "selecsls42b",
    "resnest14d", "gernet_s", "nf_resnet26", "dm_nfnet_f0", "hrnet_w18_small", "dla34", "res2net50_14w_8s",
    "ghostnet_100", "lcnet_050", "hgnetv2_b0", "densenet121", "inception_v3", "vgg11", "inception_next_tiny",
    "fastvit_t8", "efficientvit_b0", "edgenext_xx_small", "poolformer_s12", "mobilevit_xxs", "starnet_s1",
)
_TIMM_TRANSFORMERS = (
    "vit_tiny_patch16_224", "swin_tiny_patch4_window7_224", "maxvit_tiny_tf_224", "levit_128s",
    "tiny_vit_5m_224", "efficientformer_l1", "pvt_v2_b0",
)

# 702 cases (window padding on H and W at every stage, each a path): about 6 minutes here
# (swin_t: its 256 paths are followed before the trace gives up, about 4 minutes)
_SLOW = frozenset({"tiny_vit_5m_224", "swin_t"})

_SMP = (
    ("Unet", "resnet34"), ("FPN", "resnet18"), ("DeepLabV3Plus", "resnet18"), ("DeepLabV3", "resnet18"),
    ("PSPNet", "resnet18"), ("Linknet", "resnet18"), ("UnetPlusPlus", "resnet18"), ("MAnet", "resnet18"),
    ("PAN", "resnet18"), ("UPerNet", "resnet18"), ("Segformer", "resnet18"), ("Unet", "efficientnet-b0"),
)

_MN = "monai.networks.nets."


def _entries() -> list[Entry]:
    out: list[Entry] = []
    for name, kw in _TV_CLASSIFIERS.items():
        out.append(Entry(f"tv.{name}", "torchvision", _TV + name, {"weights": None, **kw}, IMG, _hw(),
                         slow=name in _SLOW))
    for name in _TV_SEG:
        out.append(Entry(f"tv.{name}", "torchvision", _TV + "segmentation." + name,
                         {"weights": None, "weights_backbone": None, "aux_loss": False}, IMG, _hw()))
    out.append(Entry("tv.resnet_fpn_backbone_resnet18", "torchvision",
                     _TV + "detection.backbone_utils.resnet_fpn_backbone",
                     {"backbone_name": "resnet18", "weights": None}, IMG, _hw(),
                     note="dict outputs (FPN levels)"))
    out.append(Entry("tv.video.r3d_18", "torchvision", _TV + "video.r3d_18", {"weights": None},
                     ("N", 3, "T", "H", "W"), _thw(), note="3D video CNN"))
    for name in (*_TIMM_CNN, *_TIMM_TRANSFORMERS):
        out.append(Entry(f"timm.{name}", "timm", "timm.create_model", {"pretrained": False}, IMG, _hw(),
                         args=(name,), slow=name in _SLOW))
    for arch, encoder in _SMP:
        out.append(Entry(f"smp.{arch}.{encoder}", "smp", f"segmentation_models_pytorch.{arch}",
                         {"encoder_name": encoder, "encoder_weights": None, "classes": 2}, IMG, _hw()))
    out += _monai() + _ultralytics() + _d2l()
    return out


def _monai() -> list[Entry]:
    small = {"out_channels": 2}
    return [
        Entry("monai.UNet2d", "monai", _MN + "UNet",
              {"spatial_dims": 2, "in_channels": 3, "channels": (4, 8, 16, 32), "strides": (2, 2, 2),
               "num_res_units": 1, **small}, IMG, _hw()),
        Entry("monai.UNet3d", "monai", _MN + "UNet",
              {"spatial_dims": 3, "in_channels": 1, "channels": (4, 8, 16), "strides": (2, 2), "num_res_units": 1,
               **small}, VOL, _dhw()),
        Entry("monai.BasicUNet2d", "monai", _MN + "BasicUNet",
              {"spatial_dims": 2, "in_channels": 3, "features": (4, 4, 8, 16, 32, 4), **small}, IMG, _hw()),
        Entry("monai.BasicUNet3d", "monai", _MN + "BasicUNet",
              {"spatial_dims": 3, "in_channels": 1, "features": (2, 2, 4, 8, 16, 2), **small}, VOL, _dhw()),
        Entry("monai.DynUNet2d", "monai", _MN + "DynUNet",
              {"spatial_dims": 2, "in_channels": 3, "kernel_size": (3, 3, 3, 3), "strides": (1, 2, 2, 2),
               "upsample_kernel_size": (2, 2, 2), "filters": (4, 8, 16, 32), **small}, IMG, _hw()),
        Entry("monai.DynUNet3d", "monai", _MN + "DynUNet",
              {"spatial_dims": 3, "in_channels": 1, "kernel_size": (3, 3, 3), "strides": (1, 2, 2),
               "upsample_kernel_size": (2, 2), "filters": (4, 8, 16), **small}, VOL, _dhw()),
        Entry("monai.SegResNet2d", "monai", _MN + "SegResNet",
              {"spatial_dims": 2, "in_channels": 3, "init_filters": 8, "blocks_down": (1, 2, 2), "blocks_up": (1, 1),
               **small}, IMG, _hw()),
        Entry("monai.SegResNet3d", "monai", _MN + "SegResNet",
              {"spatial_dims": 3, "in_channels": 1, "init_filters": 8, "blocks_down": (1, 2, 2), "blocks_up": (1, 1),
               **small}, VOL, _dhw()),
        Entry("monai.AttentionUnet2d", "monai", _MN + "AttentionUnet",
              {"spatial_dims": 2, "in_channels": 3, "channels": (4, 8, 16, 32), "strides": (2, 2, 2), **small},
              IMG, _hw()),
        Entry("monai.DenseNet3d", "monai", _MN + "DenseNet",
              {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "init_features": 8, "growth_rate": 4,
               "block_config": (2, 2, 2, 2)}, VOL, _dhw()),
        Entry("monai.VNet3d", "monai", _MN + "VNet", {"spatial_dims": 3, "in_channels": 1, "out_channels": 2},
              VOL, _dhw()),
    ]


def _ultralytics() -> list[Entry]:
    tasks = "ultralytics.nn.tasks."
    return [
        Entry("yolo.yolov8n", "ultralytics", tasks + "DetectionModel", {"cfg": "yolov8n.yaml", "verbose": False},
              IMG, _hw(), note="built from the package's YAML (no .pt download)"),
        Entry("yolo.yolov8n-cls", "ultralytics", tasks + "ClassificationModel",
              {"cfg": "yolov8n-cls.yaml", "verbose": False}, IMG, _hw()),
        Entry("yolo.yolov8n-seg", "ultralytics", tasks + "SegmentationModel",
              {"cfg": "yolov8n-seg.yaml", "verbose": False}, IMG, _hw()),
        Entry("yolo.yolo11n", "ultralytics", tasks + "DetectionModel", {"cfg": "yolo11n.yaml", "verbose": False},
              IMG, _hw()),
    ]


def _d2l() -> list[Entry]:
    """The models that the d2l 1.0.3 package itself ships (most of the book's models live only in
    the book's notebooks): LeNet (Lazy), the Residual and ResNeXt blocks (Lazy), resnet18 (ch. 13)."""
    fm = ("N", 1, "H", "W")  # Fashion-MNIST
    lenet_extra = ((1, 28, 28), (2, 28, 29), (1, 29, 28), (1, 12, 15), (1, 108, 110), (1, 13, 109), (1, 27, 28))
    extra = ((1, 28, 28), (2, 96, 96))
    d = "d2l.torch."
    return [
        Entry("d2l.LeNet.lazy", "d2l", d + "LeNet", {}, fm, _hw(lenet_extra), lazy=True,
              note="uninitialised Lazy modules"),
        Entry("d2l.LeNet.init28", "d2l", d + "LeNet", {}, fm, _hw(lenet_extra), init=(1, 1, 28, 28),
              note="initialised by one forward at 28x28, as the book does"),
        Entry("d2l.Residual.lazy", "d2l", d + "Residual", {"num_channels": 8, "use_1x1conv": True, "strides": 2},
              IMG, _hw(extra), lazy=True),
        Entry("d2l.Residual.init", "d2l", d + "Residual", {"num_channels": 8, "use_1x1conv": True, "strides": 2},
              IMG, _hw(extra), init=(1, 3, 96, 96)),
        Entry("d2l.ResNeXtBlock.lazy", "d2l", d + "ResNeXtBlock",
              {"num_channels": 32, "groups": 16, "bot_mul": 1, "use_1x1conv": True, "strides": 2}, IMG, _hw(extra),
              lazy=True),
        Entry("d2l.ResNeXtBlock.init", "d2l", d + "ResNeXtBlock",
              {"num_channels": 32, "groups": 16, "bot_mul": 1, "use_1x1conv": True, "strides": 2}, IMG, _hw(extra),
              init=(1, 3, 96, 96)),
        Entry("d2l.resnet18.lazy", "d2l", d + "resnet18", {"num_classes": 10, "in_channels": 1}, fm, _hw(extra),
              lazy=True, note="ch. 13's resnet18: Conv2d stem, Lazy Residual blocks"),
        Entry("d2l.resnet18.init", "d2l", d + "resnet18", {"num_classes": 10, "in_channels": 1}, fm, _hw(extra),
              init=(1, 1, 96, 96)),
    ]


# Entries shapeplan cannot import yet, with the reason: their test is an expected failure, strict
# (it fails the day the model imports, so that this list is kept true).
KNOWN_FAILURES: dict[str, str] = {
    "tv.swin_t": "the shifted-window mask and padding branch on H and W at every stage: more than 256 paths "
                 "(error[trace]: forward branches on the input size in more than 256 ways)",
    "monai.BasicUNet3d": "the decoder's size checks on D, H and W: 4096 paths, more than 256 "
                         "(error[trace]: forward branches on the input size in more than 256 ways)",
}

# Constructors tried and left out, with the reason (so that nobody tries them again blindly).
DROPPED: dict[str, str] = {
    "monai.SwinUNETR": "needs einops, which is not installed here (monai raises OptionalImportError in forward)",
    "d2l book models (AlexNet, VGG, NiN, GoogleNet, BNLeNet, ResNet18/ResNeXt classes, DenseNet, AnyNet/RegNetX32, "
    "ViT, TinySSD, FCN, DCGAN)": "defined only in the book's notebooks, not in the d2l 1.0.3 package: their code "
    "as the book writes it is in tests/test_d2l_book.py, compared with torch there",
}

CORPUS: tuple[Entry, ...] = tuple(_entries())
BY_ID: dict[str, Entry] = {e.id: e for e in CORPUS}
assert len(BY_ID) == len(CORPUS), "duplicate entry ids"
