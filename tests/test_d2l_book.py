"""The models of "Dive into Deep Learning" (PyTorch version), written as the book writes them, imported
with shapeplan and compared with torch's own CPU forward at many sizes (tests.test_torch_paths's check:
the domain says valid exactly where torch runs, and there every output has torch's shape).

The code of each model is copied from the book's source, the repository d2l-ai/d2l-en (commit
23d7a5aecceee57d1292c56e90cce307f183bb0a), taking the PyTorch cells (of a cell shared by frameworks,
the ``if tab.selected('pytorch')`` branch):

- AlexNet: chapter_convolutional-modern/alexnet.md
- vgg_block, VGG: chapter_convolutional-modern/vgg.md
- nin_block, NiN: chapter_convolutional-modern/nin.md
- Inception, GoogleNet: chapter_convolutional-modern/googlenet.md
- BNLeNet: chapter_convolutional-modern/batch-norm.md
- Residual, ResNet, ResNet18: chapter_convolutional-modern/resnet.md
- conv_block, DenseBlock, transition_block, DenseNet: chapter_convolutional-modern/densenet.md
- AnyNet, RegNetX32: chapter_convolutional-modern/cnn-design.md (uses d2l.ResNeXtBlock from the package)
- PatchEmbedding, ViTMLP, ViTBlock, ViT: chapter_attention-mechanisms-and-transformers/vision-transformer.md
  (uses d2l.MultiHeadAttention from the package)
- FCN (torchvision resnet18 body, 1x1 conv, ConvTranspose2d), bilinear_kernel: chapter_computer-vision/fcn.md
- cls_predictor, bbox_predictor, flatten_pred, concat_preds, down_sample_blk, base_net, get_blk,
  blk_forward, TinySSD: chapter_computer-vision/ssd.md (uses d2l.multibox_prior from the package)
- G_block, net_G, D_block, net_D: chapter_generative-adversarial-networks/dcgan.md

d2l.Classifier, d2l.add_to_class, d2l.init_cnn, d2l.ResNeXtBlock, d2l.MultiHeadAttention and
d2l.multibox_prior come from the installed d2l package (1.0.3).  Only constructor arguments are reduced
where noted (VGG's widths: the book's own ``small_conv_arch``; ViT's widths); FCN's resnet18 is built
without its pretrained weights (``pretrained=True`` downloads them; shapes do not depend on them).

Models with Lazy modules are tested both uninitialised (as the book builds them: each size runs on a
fresh model, which its first forward sizes, as torch does) and initialised (after one forward at the
book's input size).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

import shapeplan
from tests.test_torch_paths import agree_with_torch, grid

d2l_torch = pytest.importorskip("d2l.torch")
d2l = d2l_torch

torch.set_num_threads(1)


# ---------------------------------------------------------------- chapter_convolutional-modern/alexnet.md
class AlexNet(d2l.Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.LazyConv2d(96, kernel_size=11, stride=4, padding=1),
            nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.LazyConv2d(256, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.LazyConv2d(384, kernel_size=3, padding=1), nn.ReLU(),
            nn.LazyConv2d(384, kernel_size=3, padding=1), nn.ReLU(),
            nn.LazyConv2d(256, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2), nn.Flatten(),
            nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(p=0.5),
            nn.LazyLinear(4096), nn.ReLU(),nn.Dropout(p=0.5),
            nn.LazyLinear(num_classes))
        self.net.apply(d2l.init_cnn)


# ---------------------------------------------------------------- chapter_convolutional-modern/vgg.md
def vgg_block(num_convs, out_channels):
    layers = []
    for _ in range(num_convs):
        layers.append(nn.LazyConv2d(out_channels, kernel_size=3, padding=1))
        layers.append(nn.ReLU())
    layers.append(nn.MaxPool2d(kernel_size=2,stride=2))
    return nn.Sequential(*layers)


class VGG(d2l.Classifier):
    def __init__(self, arch, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        conv_blks = []
        for (num_convs, out_channels) in arch:
            conv_blks.append(vgg_block(num_convs, out_channels))
        self.net = nn.Sequential(
            *conv_blks, nn.Flatten(),
            nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(0.5),
            nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(0.5),
            nn.LazyLinear(num_classes))
        self.net.apply(d2l.init_cnn)


# ---------------------------------------------------------------- chapter_convolutional-modern/nin.md
def nin_block(out_channels, kernel_size, strides, padding):
    return nn.Sequential(
        nn.LazyConv2d(out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU())


class NiN(d2l.Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nin_block(96, kernel_size=11, strides=4, padding=0),
            nn.MaxPool2d(3, stride=2),
            nin_block(256, kernel_size=5, strides=1, padding=2),
            nn.MaxPool2d(3, stride=2),
            nin_block(384, kernel_size=3, strides=1, padding=1),
            nn.MaxPool2d(3, stride=2),
            nn.Dropout(0.5),
            nin_block(num_classes, kernel_size=3, strides=1, padding=1),
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten())
        self.net.apply(d2l.init_cnn)


# ---------------------------------------------------------------- chapter_convolutional-modern/googlenet.md
class Inception(nn.Module):
    # c1--c4 are the number of output channels for each branch
    def __init__(self, c1, c2, c3, c4, **kwargs):
        super(Inception, self).__init__(**kwargs)  # noqa: UP008
        # Branch 1
        self.b1_1 = nn.LazyConv2d(c1, kernel_size=1)
        # Branch 2
        self.b2_1 = nn.LazyConv2d(c2[0], kernel_size=1)
        self.b2_2 = nn.LazyConv2d(c2[1], kernel_size=3, padding=1)
        # Branch 3
        self.b3_1 = nn.LazyConv2d(c3[0], kernel_size=1)
        self.b3_2 = nn.LazyConv2d(c3[1], kernel_size=5, padding=2)
        # Branch 4
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.b4_2 = nn.LazyConv2d(c4, kernel_size=1)

    def forward(self, x):
        b1 = F.relu(self.b1_1(x))
        b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
        b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
        b4 = F.relu(self.b4_2(self.b4_1(x)))
        return torch.cat((b1, b2, b3, b4), dim=1)


class GoogleNet(d2l.Classifier):
    def b1(self):
        return nn.Sequential(
            nn.LazyConv2d(64, kernel_size=7, stride=2, padding=3),
            nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


@d2l.add_to_class(GoogleNet)
def b2(self):
    return nn.Sequential(
        nn.LazyConv2d(64, kernel_size=1), nn.ReLU(),
        nn.LazyConv2d(192, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


@d2l.add_to_class(GoogleNet)
def b3(self):
    return nn.Sequential(Inception(64, (96, 128), (16, 32), 32),
                         Inception(128, (128, 192), (32, 96), 64),
                         nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


@d2l.add_to_class(GoogleNet)
def b4(self):
    return nn.Sequential(Inception(192, (96, 208), (16, 48), 64),
                         Inception(160, (112, 224), (24, 64), 64),
                         Inception(128, (128, 256), (24, 64), 64),
                         Inception(112, (144, 288), (32, 64), 64),
                         Inception(256, (160, 320), (32, 128), 128),
                         nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


@d2l.add_to_class(GoogleNet)
def b5(self):
    return nn.Sequential(Inception(256, (160, 320), (32, 128), 128),
                         Inception(384, (192, 384), (48, 128), 128),
                         nn.AdaptiveAvgPool2d((1,1)), nn.Flatten())


@d2l.add_to_class(GoogleNet)
def __init__(self, lr=0.1, num_classes=10):
    super(GoogleNet, self).__init__()
    self.save_hyperparameters()
    self.net = nn.Sequential(self.b1(), self.b2(), self.b3(), self.b4(),
                             self.b5(), nn.LazyLinear(num_classes))
    self.net.apply(d2l.init_cnn)


# ---------------------------------------------------------------- chapter_convolutional-modern/batch-norm.md
class BNLeNet(d2l.Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5), nn.LazyBatchNorm2d(),
            nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), nn.LazyBatchNorm2d(),
            nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(), nn.LazyLinear(120), nn.LazyBatchNorm1d(),
            nn.Sigmoid(), nn.LazyLinear(84), nn.LazyBatchNorm1d(),
            nn.Sigmoid(), nn.LazyLinear(num_classes))


# ---------------------------------------------------------------- chapter_convolutional-modern/resnet.md
class Residual(nn.Module):  #@save
    """The Residual block of ResNet models."""
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1,
                                   stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1,
                                       stride=strides)
        else:
            self.conv3 = None
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


class ResNet(d2l.Classifier):
    def b1(self):
        return nn.Sequential(
            nn.LazyConv2d(64, kernel_size=7, stride=2, padding=3),
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


@d2l.add_to_class(ResNet)
def block(self, num_residuals, num_channels, first_block=False):
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels))
    return nn.Sequential(*blk)


@d2l.add_to_class(ResNet)
def __init__(self, arch, lr=0.1, num_classes=10):  # noqa: F811
    super(ResNet, self).__init__()
    self.save_hyperparameters()
    self.net = nn.Sequential(self.b1())
    for i, b in enumerate(arch):
        self.net.add_module(f'b{i+2}', self.block(*b, first_block=(i==0)))
    self.net.add_module('last', nn.Sequential(
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
        nn.LazyLinear(num_classes)))
    self.net.apply(d2l.init_cnn)


class ResNet18(ResNet):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__(((2, 64), (2, 128), (2, 256), (2, 512)),
                       lr, num_classes)


# ---------------------------------------------------------------- chapter_convolutional-modern/densenet.md
def conv_block(num_channels):
    return nn.Sequential(
        nn.LazyBatchNorm2d(), nn.ReLU(),
        nn.LazyConv2d(num_channels, kernel_size=3, padding=1))


class DenseBlock(nn.Module):
    def __init__(self, num_convs, num_channels):
        super(DenseBlock, self).__init__()  # noqa: UP008
        layer = []
        for i in range(num_convs):  # noqa: B007
            layer.append(conv_block(num_channels))
        self.net = nn.Sequential(*layer)

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            # Concatenate input and output of each block along the channels
            X = torch.cat((X, Y), dim=1)
        return X


def transition_block(num_channels):
    return nn.Sequential(
        nn.LazyBatchNorm2d(), nn.ReLU(),
        nn.LazyConv2d(num_channels, kernel_size=1),
        nn.AvgPool2d(kernel_size=2, stride=2))


class DenseNet(d2l.Classifier):
    def b1(self):
        return nn.Sequential(
            nn.LazyConv2d(64, kernel_size=7, stride=2, padding=3),
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


@d2l.add_to_class(DenseNet)
def __init__(self, num_channels=64, growth_rate=32, arch=(4, 4, 4, 4),  # noqa: F811
             lr=0.1, num_classes=10):
    super(DenseNet, self).__init__()
    self.save_hyperparameters()
    self.net = nn.Sequential(self.b1())
    for i, num_convs in enumerate(arch):
        self.net.add_module(f'dense_blk{i+1}', DenseBlock(num_convs,
                                                          growth_rate))
        # The number of output channels in the previous dense block
        num_channels += num_convs * growth_rate
        # A transition layer that halves the number of channels is added
        # between the dense blocks
        if i != len(arch) - 1:
            num_channels //= 2
            self.net.add_module(f'tran_blk{i+1}', transition_block(
                num_channels))
    self.net.add_module('last', nn.Sequential(
        nn.LazyBatchNorm2d(), nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
        nn.LazyLinear(num_classes)))
    self.net.apply(d2l.init_cnn)


# ---------------------------------------------------------------- chapter_convolutional-modern/cnn-design.md
class AnyNet(d2l.Classifier):
    def stem(self, num_channels):
        return nn.Sequential(
            nn.LazyConv2d(num_channels, kernel_size=3, stride=2, padding=1),
            nn.LazyBatchNorm2d(), nn.ReLU())


@d2l.add_to_class(AnyNet)
def stage(self, depth, num_channels, groups, bot_mul):
    blk = []
    for i in range(depth):
        if i == 0:
            blk.append(d2l.ResNeXtBlock(num_channels, groups, bot_mul,
                use_1x1conv=True, strides=2))
        else:
            blk.append(d2l.ResNeXtBlock(num_channels, groups, bot_mul))
    return nn.Sequential(*blk)


@d2l.add_to_class(AnyNet)
def __init__(self, arch, stem_channels, lr=0.1, num_classes=10):  # noqa: F811
    super(AnyNet, self).__init__()
    self.save_hyperparameters()
    self.net = nn.Sequential(self.stem(stem_channels))
    for i, s in enumerate(arch):
        self.net.add_module(f'stage{i+1}', self.stage(*s))
    self.net.add_module('head', nn.Sequential(
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
        nn.LazyLinear(num_classes)))
    self.net.apply(d2l.init_cnn)


class RegNetX32(AnyNet):
    def __init__(self, lr=0.1, num_classes=10):
        stem_channels, groups, bot_mul = 32, 16, 1
        depths, channels = (4, 6), (32, 80)
        super().__init__(
            ((depths[0], channels[0], groups, bot_mul),
             (depths[1], channels[1], groups, bot_mul)),
            stem_channels, lr, num_classes)


# -------------------------------------------- chapter_attention-mechanisms-and-transformers/vision-transformer.md
class PatchEmbedding(nn.Module):
    def __init__(self, img_size=96, patch_size=16, num_hiddens=512):
        super().__init__()
        def _make_tuple(x):
            if not isinstance(x, (list, tuple)):
                return (x, x)
            return x
        img_size, patch_size = _make_tuple(img_size), _make_tuple(patch_size)
        self.num_patches = (img_size[0] // patch_size[0]) * (
            img_size[1] // patch_size[1])
        self.conv = nn.LazyConv2d(num_hiddens, kernel_size=patch_size,
                                  stride=patch_size)

    def forward(self, X):
        # Output shape: (batch size, no. of patches, no. of channels)
        return self.conv(X).flatten(2).transpose(1, 2)


class ViTMLP(nn.Module):
    def __init__(self, mlp_num_hiddens, mlp_num_outputs, dropout=0.5):
        super().__init__()
        self.dense1 = nn.LazyLinear(mlp_num_hiddens)
        self.gelu = nn.GELU()
        self.dropout1 = nn.Dropout(dropout)
        self.dense2 = nn.LazyLinear(mlp_num_outputs)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout2(self.dense2(self.dropout1(self.gelu(
            self.dense1(x)))))


class ViTBlock(nn.Module):
    def __init__(self, num_hiddens, norm_shape, mlp_num_hiddens,
                 num_heads, dropout, use_bias=False):
        super().__init__()
        self.ln1 = nn.LayerNorm(norm_shape)
        self.attention = d2l.MultiHeadAttention(num_hiddens, num_heads,
                                                dropout, use_bias)
        self.ln2 = nn.LayerNorm(norm_shape)
        self.mlp = ViTMLP(mlp_num_hiddens, num_hiddens, dropout)

    def forward(self, X, valid_lens=None):
        X = X + self.attention(*([self.ln1(X)] * 3), valid_lens)
        return X + self.mlp(self.ln2(X))


class ViT(d2l.Classifier):
    """Vision Transformer."""
    def __init__(self, img_size, patch_size, num_hiddens, mlp_num_hiddens,
                 num_heads, num_blks, emb_dropout, blk_dropout, lr=0.1,
                 use_bias=False, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.patch_embedding = PatchEmbedding(
            img_size, patch_size, num_hiddens)
        self.cls_token = nn.Parameter(d2l.zeros(1, 1, num_hiddens))
        num_steps = self.patch_embedding.num_patches + 1  # Add the cls token
        # Positional embeddings are learnable
        self.pos_embedding = nn.Parameter(
            torch.randn(1, num_steps, num_hiddens))
        self.dropout = nn.Dropout(emb_dropout)
        self.blks = nn.Sequential()
        for i in range(num_blks):
            self.blks.add_module(f"{i}", ViTBlock(
                num_hiddens, num_hiddens, mlp_num_hiddens,
                num_heads, blk_dropout, use_bias))
        self.head = nn.Sequential(nn.LayerNorm(num_hiddens),
                                  nn.Linear(num_hiddens, num_classes))

    def forward(self, X):
        X = self.patch_embedding(X)
        X = d2l.concat((self.cls_token.expand(X.shape[0], -1, -1), X), 1)
        X = self.dropout(X + self.pos_embedding)
        for blk in self.blks:
            X = blk(X)
        return self.head(X[:, 0])


# ---------------------------------------------------------------- chapter_computer-vision/fcn.md
def bilinear_kernel(in_channels, out_channels, kernel_size):
    factor = (kernel_size + 1) // 2
    if kernel_size % 2 == 1:
        center = factor - 1
    else:
        center = factor - 0.5
    og = (torch.arange(kernel_size).reshape(-1, 1),
          torch.arange(kernel_size).reshape(1, -1))
    filt = (1 - torch.abs(og[0] - center) / factor) * \
           (1 - torch.abs(og[1] - center) / factor)
    weight = torch.zeros((in_channels, out_channels,
                          kernel_size, kernel_size))
    weight[range(in_channels), range(out_channels), :, :] = filt
    return weight


def fcn() -> nn.Sequential:
    """The chapter's cells that build ``net``, in order (the resnet18 without its pretrained weights)."""
    pretrained_net = torchvision.models.resnet18()
    net = nn.Sequential(*list(pretrained_net.children())[:-2])
    num_classes = 21
    net.add_module('final_conv', nn.Conv2d(512, num_classes, kernel_size=1))
    net.add_module('transpose_conv', nn.ConvTranspose2d(num_classes, num_classes,
                                        kernel_size=64, padding=16, stride=32))
    W = bilinear_kernel(num_classes, num_classes, 64)
    net.transpose_conv.weight.data.copy_(W)
    return net


# ---------------------------------------------------------------- chapter_computer-vision/ssd.md
def cls_predictor(num_inputs, num_anchors, num_classes):
    return nn.Conv2d(num_inputs, num_anchors * (num_classes + 1),
                     kernel_size=3, padding=1)


def bbox_predictor(num_inputs, num_anchors):
    return nn.Conv2d(num_inputs, num_anchors * 4, kernel_size=3, padding=1)


def flatten_pred(pred):
    return torch.flatten(pred.permute(0, 2, 3, 1), start_dim=1)


def concat_preds(preds):
    return torch.cat([flatten_pred(p) for p in preds], dim=1)


def down_sample_blk(in_channels, out_channels):
    blk = []
    for _ in range(2):
        blk.append(nn.Conv2d(in_channels, out_channels,
                             kernel_size=3, padding=1))
        blk.append(nn.BatchNorm2d(out_channels))
        blk.append(nn.ReLU())
        in_channels = out_channels
    blk.append(nn.MaxPool2d(2))
    return nn.Sequential(*blk)


def base_net():
    blk = []
    num_filters = [3, 16, 32, 64]
    for i in range(len(num_filters) - 1):
        blk.append(down_sample_blk(num_filters[i], num_filters[i+1]))
    return nn.Sequential(*blk)


def get_blk(i):
    if i == 0:
        blk = base_net()
    elif i == 1:
        blk = down_sample_blk(64, 128)
    elif i == 4:
        blk = nn.AdaptiveMaxPool2d((1,1))
    else:
        blk = down_sample_blk(128, 128)
    return blk


def blk_forward(X, blk, size, ratio, cls_predictor, bbox_predictor):
    Y = blk(X)
    anchors = d2l.multibox_prior(Y, sizes=size, ratios=ratio)
    cls_preds = cls_predictor(Y)
    bbox_preds = bbox_predictor(Y)
    return (Y, anchors, cls_preds, bbox_preds)


sizes = [[0.2, 0.272], [0.37, 0.447], [0.54, 0.619], [0.71, 0.79],
         [0.88, 0.961]]
ratios = [[1, 2, 0.5]] * 5
num_anchors = len(sizes[0]) + len(ratios[0]) - 1


class TinySSD(nn.Module):
    def __init__(self, num_classes, **kwargs):
        super(TinySSD, self).__init__(**kwargs)  # noqa: UP008
        self.num_classes = num_classes
        idx_to_in_channels = [64, 128, 128, 128, 128]
        for i in range(5):
            # Equivalent to the assignment statement `self.blk_i = get_blk(i)`
            setattr(self, f'blk_{i}', get_blk(i))
            setattr(self, f'cls_{i}', cls_predictor(idx_to_in_channels[i],
                                                    num_anchors, num_classes))
            setattr(self, f'bbox_{i}', bbox_predictor(idx_to_in_channels[i],
                                                      num_anchors))

    def forward(self, X):
        anchors, cls_preds, bbox_preds = [None] * 5, [None] * 5, [None] * 5
        for i in range(5):
            # Here `getattr(self, 'blk_%d' % i)` accesses `self.blk_i`
            X, anchors[i], cls_preds[i], bbox_preds[i] = blk_forward(
                X, getattr(self, f'blk_{i}'), sizes[i], ratios[i],
                getattr(self, f'cls_{i}'), getattr(self, f'bbox_{i}'))
        anchors = torch.cat(anchors, dim=1)
        cls_preds = concat_preds(cls_preds)
        cls_preds = cls_preds.reshape(
            cls_preds.shape[0], -1, self.num_classes + 1)
        bbox_preds = concat_preds(bbox_preds)
        return anchors, cls_preds, bbox_preds


# ---------------------------------------------------------------- chapter_generative-adversarial-networks/dcgan.md
class G_block(nn.Module):
    def __init__(self, out_channels, in_channels=3, kernel_size=4, strides=2,
                 padding=1, **kwargs):
        super(G_block, self).__init__(**kwargs)  # noqa: UP008
        self.conv2d_trans = nn.ConvTranspose2d(in_channels, out_channels,
                                kernel_size, strides, padding, bias=False)
        self.batch_norm = nn.BatchNorm2d(out_channels)
        self.activation = nn.ReLU()

    def forward(self, X):
        return self.activation(self.batch_norm(self.conv2d_trans(X)))


def dcgan_generator() -> nn.Sequential:
    n_G = 64
    net_G = nn.Sequential(
        G_block(in_channels=100, out_channels=n_G*8,
                strides=1, padding=0),                  # Output: (64 * 8, 4, 4)
        G_block(in_channels=n_G*8, out_channels=n_G*4), # Output: (64 * 4, 8, 8)
        G_block(in_channels=n_G*4, out_channels=n_G*2), # Output: (64 * 2, 16, 16)
        G_block(in_channels=n_G*2, out_channels=n_G),   # Output: (64, 32, 32)
        nn.ConvTranspose2d(in_channels=n_G, out_channels=3,
                           kernel_size=4, stride=2, padding=1, bias=False),
        nn.Tanh())  # Output: (3, 64, 64)
    return net_G


class D_block(nn.Module):
    def __init__(self, out_channels, in_channels=3, kernel_size=4, strides=2,
                padding=1, alpha=0.2, **kwargs):
        super(D_block, self).__init__(**kwargs)  # noqa: UP008
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size,
                                strides, padding, bias=False)
        self.batch_norm = nn.BatchNorm2d(out_channels)
        self.activation = nn.LeakyReLU(alpha, inplace=True)

    def forward(self, X):
        return self.activation(self.batch_norm(self.conv2d(X)))


def dcgan_discriminator() -> nn.Sequential:
    n_D = 64
    net_D = nn.Sequential(
        D_block(n_D),  # Output: (64, 32, 32)
        D_block(in_channels=n_D, out_channels=n_D*2),  # Output: (64 * 2, 16, 16)
        D_block(in_channels=n_D*2, out_channels=n_D*4),  # Output: (64 * 4, 8, 8)
        D_block(in_channels=n_D*4, out_channels=n_D*8),  # Output: (64 * 8, 4, 4)
        nn.Conv2d(in_channels=n_D*8, out_channels=1,
                  kernel_size=4, bias=False))  # Output: (1, 1, 1)
    return net_D


# ---------------------------------------------------------------- the checks
def agree_lazy(make: Callable[[], nn.Module], shape: tuple, envs: list[dict[str, int]]) -> shapeplan.Report:
    """As ``agree_with_torch``, for a model with Lazy modules left uninitialised: shapeplan imports a
    fresh model, and torch runs a fresh model at each size (its first forward sizes it)."""
    return agree_with_torch(make(), shape, envs, fresh=make)


def initialised(model: nn.Module, size: tuple[int, ...]) -> nn.Module:
    """The book's way: one forward at its input size, then d2l.init_cnn (Module.apply_init).  ``size`` has a
    batch of 2: the forward runs in training mode, where BatchNorm1d refuses a batch of one."""
    model.apply_init([torch.zeros(*size)], d2l.init_cnn)
    return model


GRAY = ("N", 1, "H", "W")
RGB = ("N", 3, "H", "W")
SMALL_VGG = ((1, 16), (1, 32), (2, 64), (2, 128), (2, 128))  # the book's small_conv_arch (ratio 4)


def test_alexnet_lazy() -> None:
    agree_lazy(AlexNet, GRAY, grid((1, 9, 33, 63, 64, 65, 66, 70, 96), (64, 65, 67, 100)))


def test_alexnet_initialised() -> None:
    model = initialised(AlexNet(), (2, 1, 224, 224))
    envs = grid((191, 192, 193, 200, 224, 227, 228, 229, 240), (195, 224)) + grid((65, 96, 97), (832, 833, 864, 865))
    agree_with_torch(model, GRAY, envs)


def test_vgg_lazy() -> None:
    agree_lazy(lambda: VGG(arch=SMALL_VGG), GRAY, grid((*range(1, 80, 7), 31, 32, 63, 64), (32, 45, 64)))


def test_vgg_initialised() -> None:
    model = initialised(VGG(arch=SMALL_VGG), (2, 1, 224, 224))
    envs = grid((223, 224, 239, 255, 256), (224, 250)) + grid((31, 32, 63, 64), (1567, 1568, 1599, 1600))
    agree_with_torch(model, GRAY, envs)


def test_nin_lazy() -> None:
    agree_lazy(NiN, GRAY, grid((1, 11, 60, 66, 67, 68, 70, 79, 96), (67, 70, 90)))


def test_nin_initialised() -> None:
    model = initialised(NiN(), (2, 1, 224, 224))
    agree_with_torch(model, GRAY, grid((1, 11, 60, 66, 67, 68, 70, 96), (67, 70, 90)))


def test_googlenet_lazy() -> None:
    agree_lazy(GoogleNet, GRAY, grid(range(0, 40, 5), (1, 5, 17)))


def test_googlenet_initialised() -> None:
    model = initialised(GoogleNet(), (2, 1, 96, 96))
    agree_with_torch(model, GRAY, grid((*range(1, 40, 3), 96), (1, 5, 17, 96)))


def test_bnlenet_lazy() -> None:
    agree_lazy(BNLeNet, GRAY, grid(range(1, 40, 3), (15, 16, 17, 28)))


def test_bnlenet_initialised() -> None:
    model = initialised(BNLeNet(), (2, 1, 28, 28))
    agree_with_torch(model, GRAY, grid(range(1, 40, 2), (15, 16, 28, 31, 32, 43, 44, 47, 48, 76, 79, 80)))


def test_resnet18_lazy() -> None:
    agree_lazy(ResNet18, GRAY, grid(range(0, 40, 6), (1, 7, 33)))


def test_resnet18_initialised() -> None:
    model = initialised(ResNet18(), (2, 1, 96, 96))
    agree_with_torch(model, GRAY, grid((*range(1, 40, 3), 96), (1, 7, 33, 96)))


def test_densenet_lazy() -> None:
    agree_lazy(DenseNet, GRAY, grid(range(1, 60, 6), (25, 32, 33)))


def test_densenet_initialised() -> None:
    model = initialised(DenseNet(), (2, 1, 96, 96))
    agree_with_torch(model, GRAY, grid((*range(1, 60, 3), 96), (24, 25, 32, 33)))


def test_regnetx32_lazy() -> None:
    agree_lazy(RegNetX32, GRAY, grid(range(0, 40, 4), (1, 9)))


def test_regnetx32_initialised() -> None:
    model = initialised(RegNetX32(), (2, 1, 96, 96))
    agree_with_torch(model, GRAY, grid((*range(1, 40, 3), 96), (1, 9, 96)))


def vit() -> ViT:
    """The chapter's ViT (img_size 96, patch_size 16, 2 blocks), narrower: 64 hiddens instead of 512."""
    return ViT(96, 16, 64, 128, 8, 2, 0.1, 0.1)


def test_vit_lazy() -> None:
    agree_lazy(vit, RGB, grid((15, 16, 64, 80, 95, 96, 111, 112, 144), (64, 96, 111, 144, 575, 576)))


def test_vit_initialised() -> None:
    model = vit()
    with torch.no_grad():
        model(torch.zeros(1, 3, 96, 96))
    agree_with_torch(model, RGB, grid((15, 16, 64, 80, 95, 96, 111, 112, 144), (64, 96, 111, 144, 575, 576)))


def test_fcn() -> None:
    envs = grid(range(0, 70, 6), (1, 32, 45)) + [{"N": 1, "H": 320, "W": 480}]
    agree_with_torch(fcn(), RGB, envs)


def test_tinyssd() -> None:
    """The anchors multiply a tensor by the feature map's size (d2l.multibox_prior: ``* in_height / in_width``)."""
    agree_with_torch(TinySSD(num_classes=1), RGB, grid((1, 32, 63, 64, 65, 100, 128), (64, 71, 96)))


def test_dcgan_generator() -> None:
    agree_with_torch(dcgan_generator(), ("N", 100, "H", "W"), grid(range(0, 5), (1, 3)))


def test_dcgan_discriminator() -> None:
    agree_with_torch(dcgan_discriminator(), RGB, grid((1, 16, 48, 63, 64, 65, 79, 80), (64, 70)))


def test_tinyssd_blocks() -> None:
    """TinySSD's blocks without the anchors (blk_0 ... blk_4 in a row, then each scale's predictors)."""
    blocks = nn.Sequential(*[get_blk(i) for i in range(5)])
    agree_with_torch(blocks, RGB, grid((0, 1, 31, 32, 63, 64, 65, 100, 128), (64, 71, 96)))
    agree_with_torch(base_net(), RGB, grid(range(0, 20, 3), (7, 8, 9, 256)))
    agree_with_torch(down_sample_blk(64, 128), ("N", 64, "H", "W"), grid(range(0, 6), (1, 2, 3)))
    agree_with_torch(cls_predictor(128, num_anchors, 1), ("N", 128, "H", "W"), grid(range(0, 4), (1, 2)))
