#!/usr/bin/env python3
"""PyTorch CPU reference for Lethe's training-step benchmarks.

Runs the same training steps as `go test -bench TrainStep ./nn` (SmallCNN at
batch 64 on 28x28x1, ResNet-18 with the CIFAR stem at batch 32 on 32x32x3; SGD
with momentum, cross-entropy) on 1 and 2 threads and prints images/second,
one line per model: "<name> <best img/s> <threads>". Run with Debian's
python3-torch:

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/bench_torch_cpu.py
"""
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision  # noqa: E402


class SmallCNN(nn.Module):
    """Lethe's smallcnn: conv-bn-relu-pool x2, conv-bn-relu, global average pool, linear."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(128)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = torch.relu(self.bn3(self.conv3(x)))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def resnet18():
    m = torchvision.models.resnet18(num_classes=10)
    m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    return m


def bench(make, shape, batch, seconds):
    torch.manual_seed(0)
    m = make()
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    lossf = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = lossf(m(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(3):
        step()
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        el = time.perf_counter() - t0
        if el > seconds and n >= 5:
            return n * batch / el


def main():
    seconds = float(os.environ.get("BENCH_SECONDS", "5"))
    which = sys.argv[1:] or ["smallcnn", "resnet18"]
    cases = {"smallcnn": (SmallCNN, (1, 28, 28), 64), "resnet18": (resnet18, (3, 32, 32), 32)}
    for name in which:
        make, shape, batch = cases[name]
        best, best_t = 0.0, 0
        for threads in (1, 2):
            torch.set_num_threads(threads)
            r = bench(make, shape, batch, seconds)
            print(f"# {name} threads={threads}: {r:.1f} img/s", file=sys.stderr)
            if r > best:
                best, best_t = r, threads
        print(f"{name} {best:.1f} {best_t}")


if __name__ == "__main__":
    main()
