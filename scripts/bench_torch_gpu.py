#!/usr/bin/env python3
"""PyTorch side of Lethe's GPU benchmarks (scripts/gpu-check.sh runs both).

Same models, batch sizes and optimiser as nn/cuda/bench_gpu_test.go:
  - ResNet-18 with the CIFAR stem (torchvision's resnet18, conv1 3x3
    stride 1, no max-pool), batch 256 of 3x32x32, 10 classes;
  - SmallCNN (Lethe's nn/model.go), batch 64 of 1x28x28;
  - one OSP pass (METHODS.md) on ResNet-18: eval forward of 64+64
    samples with the per-filter spatial maxima of every convolution,
    Δ per filter, top 5% per layer, rank-adaptive attenuation (s = 0.4).
fp32, NCHW, SGD momentum 0.9, weight decay 5e-4, cudnn.benchmark = True,
TF32 as PyTorch's defaults (allowed in cuDNN convolutions, not in matmul).
A training step includes copying the batch from pinned host memory, as
Lethe's step uploads its batch. Timing: warm-up steps, then CUDA events
over the timed steps. Prints "torch <name> <ms> ms" lines.
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

WARMUP, STEPS = 10, 30


class SmallCNN(nn.Module):
    """Lethe's smallcnn: conv-bn-relu-pool x2, conv-bn-relu, global average pool, linear."""

    def __init__(self, classes=10, in_c=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, 32, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 128, 3, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(128)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def resnet18_cifar(classes=10):
    m = torchvision.models.resnet18(num_classes=classes)
    m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    return m


def time_train(model, shape, classes, batch):
    dev = torch.device("cuda")
    model = model.to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    host_x = torch.randn(batch, *shape).pin_memory()
    host_y = torch.randint(0, classes, (batch,)).pin_memory()
    x = torch.empty(batch, *shape, device=dev)
    y = torch.empty(batch, dtype=torch.long, device=dev)

    def step():
        x.copy_(host_x, non_blocking=True)
        y.copy_(host_y, non_blocking=True)
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(WARMUP):
        step()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(STEPS):
        step()
    end.record()
    torch.cuda.synchronize()
    ms = start.elapsed_time(end) / STEPS
    # Lethe reads the loss every step (a host synchronisation); measure
    # that variant too.
    t0 = time.perf_counter()
    for _ in range(STEPS):
        step().item()
    synced = (time.perf_counter() - t0) * 1000 / STEPS
    return ms, synced


def time_osp(nf=64, nr=64, rho=0.05, strength=0.4):
    dev = torch.device("cuda")
    model = resnet18_cifar().to(dev).eval()
    x = torch.randn(nf + nr, 3, 32, 32, device=dev)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    maxima = {}

    def hook(mod, _inp, out):
        maxima[mod] = out.amax(dim=(2, 3))

    for c in convs:
        c.register_forward_hook(hook)

    @torch.no_grad()
    def one_pass():
        model(x)
        for c in convs:
            a = maxima[c]
            delta = a[:nf].mean(0) - a[nf:].mean(0)
            m = math.ceil(rho * c.out_channels)
            idx = torch.topk(delta, m).indices
            ranks = torch.arange(m, device=dev, dtype=torch.float32)
            gamma = torch.clamp(1 - strength * (1 - ranks / m), min=0.01)
            c.weight[idx] *= gamma.view(-1, 1, 1, 1)
        torch.cuda.synchronize()

    for _ in range(3):
        one_pass()
    t0 = time.perf_counter()
    for _ in range(STEPS):
        one_pass()
    return (time.perf_counter() - t0) * 1000 / STEPS


def main():
    if not torch.cuda.is_available():
        print("no CUDA device for PyTorch")
        return 1
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = False
    print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(),
          torch.cuda.get_device_name(0))
    torch.manual_seed(0)
    ms, synced = time_train(resnet18_cifar(), (3, 32, 32), 10, 256)
    print(f"torch resnet18_b256_step {ms:.3f} ms")
    print(f"torch resnet18_b256_step_with_loss_read {synced:.3f} ms")
    ms, synced = time_train(SmallCNN(), (1, 28, 28), 10, 64)
    print(f"torch smallcnn_b64_step {ms:.3f} ms")
    print(f"torch smallcnn_b64_step_with_loss_read {synced:.3f} ms")
    print(f"torch osp_resnet18 {time_osp():.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
