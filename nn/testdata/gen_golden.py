#!/usr/bin/env python3
"""Golden values for the engine's model-level tests, from PyTorch (CPU, float32).

Run from the repository root with Debian's python3-torch (1.13) and
python3-torchvision:

    /usr/bin/python3 nn/testdata/gen_golden.py

Writes, under nn/testdata/:
  basicblock.safetensors  a torchvision BasicBlock with a 1x1 stride-2
                          projection shortcut: weights, random BN statistics,
                          input, upstream gradient, and for train and eval mode
                          the output, input gradient, parameter gradients and
                          (train) the updated running statistics.
  resnet18_w16.safetensors        a ResNet-18 (CIFAR stem) at 1/16 width, with
                                  torchvision's parameter names
  resnet18_w16_io.safetensors     input, labels, logits (train and eval mode),
                                  mean cross-entropy, every parameter gradient,
                                  running statistics after the train-mode pass
  state_dict_names.json   names and shapes of torchvision's resnet18 / resnet50
                          (CIFAR stem, 10 classes) and vgg16_bn features
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

OUT = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)


def save_safetensors(path, tensors, meta=None):
    """Minimal safetensors writer (F32 and I64), so no extra package is needed."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        if t.dtype == torch.int64:
            dtype, data = "I64", t.numpy().astype("<i8").tobytes()
        else:
            dtype, data = "F32", t.float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if meta:
        header["__metadata__"] = meta
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def randomise_bn(m):
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            with torch.no_grad():
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.5, 0.5)
                mod.running_mean.uniform_(-0.3, 0.3)
                mod.running_var.uniform_(0.5, 2.0)


def basic_block():
    from torchvision.models.resnet import BasicBlock
    down = nn.Sequential(nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8))
    blk = BasicBlock(4, 8, stride=2, downsample=down)
    randomise_bn(blk)
    x = torch.randn(3, 4, 7, 7)
    g = torch.randn(3, 8, 4, 4)
    out = {}
    for k, v in blk.state_dict().items():
        out["init." + k] = v.clone()
    out["x"], out["dy"] = x, g
    for mode in ("train", "eval"):
        b = BasicBlock(4, 8, stride=2, downsample=nn.Sequential(nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8)))
        b.load_state_dict(blk.state_dict())
        b.train(mode == "train")
        xi = x.clone().requires_grad_(True)
        y = b(xi)
        y.backward(g)
        out[mode + ".y"] = y
        out[mode + ".dx"] = xi.grad
        for n, p in b.named_parameters():
            out[mode + ".grad." + n] = p.grad
        if mode == "train":
            for n, v in b.state_dict().items():
                if "running" in n or "num_batches" in n:
                    out["train.after." + n] = v.clone()
    save_safetensors(os.path.join(OUT, "basicblock.safetensors"), out)


class Block(nn.Module):
    """torchvision's BasicBlock, spelled out so the width can shrink."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)


class ResNet18(nn.Module):
    def __init__(self, width, classes=10):
        super().__init__()
        c = [max(1, round(v * width)) for v in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(3, c[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c[0])
        self.relu = nn.ReLU(inplace=True)
        cin = c[0]
        for i, planes in enumerate(c):
            blocks = []
            for j in range(2):
                stride = 2 if (j == 0 and i > 0) else 1
                blocks.append(Block(cin, planes, stride))
                cin = planes
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for i in range(4):
            x = getattr(self, "layer%d" % (i + 1))(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18_small():
    m = ResNet18(1 / 16)
    randomise_bn(m)
    sd = m.state_dict()
    cfg = {"arch": "resnet18", "classes": 10, "in_c": 3, "in_h": 32, "in_w": 32, "width": 0.0625, "seed": 0}
    save_safetensors(os.path.join(OUT, "resnet18_w16.safetensors"), sd, {"lethe.config": json.dumps(cfg)})
    x = torch.randn(4, 3, 32, 32)
    y = torch.tensor([3, 1, 4, 1])
    io = {"x": x, "labels": y}
    m.eval()
    with torch.no_grad():
        io["logits_eval"] = m(x)
    m.train()
    logits = m(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    io["logits_train"] = logits
    io["loss"] = loss.reshape(1)
    for n, p in m.named_parameters():
        io["grad." + n] = p.grad
    for n, v in m.state_dict().items():
        if "running" in n:
            io["after." + n] = v
    save_safetensors(os.path.join(OUT, "resnet18_w16_io.safetensors"), io)


def names():
    def cifar(m, classes=10):
        m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        m.maxpool = nn.Identity()
        m.fc = nn.Linear(m.fc.in_features, classes)
        return m

    out = {}
    for arch, m in (("resnet18", cifar(torchvision.models.resnet18())), ("resnet50", cifar(torchvision.models.resnet50()))):
        out[arch] = [[k, list(v.shape)] for k, v in m.state_dict().items()]
    vgg = torchvision.models.vgg16_bn()
    out["vgg16_bn.features"] = [[k, list(v.shape)] for k, v in vgg.state_dict().items() if k.startswith("features.")]
    with open(os.path.join(OUT, "state_dict_names.json"), "w") as f:
        json.dump(out, f, indent=0)


if __name__ == "__main__":
    basic_block()
    resnet18_small()
    names()
