#!/usr/bin/python3
"""Golden values for package data's tests, computed independently of the
Go code with gzip/hashlib/numpy and torchvision (run with /usr/bin/python3,
which has torch 1.13 / torchvision 0.14):

    /usr/bin/python3 data/testdata/gen_golden.py "$(go env GOMODCACHE)/github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data" ../shared/data/cifar100/train.bin.gz

Writes, beside this script:
  mnist_golden.json   per-class counts and sha256 of the pixel bytes of
                      MNIST's train and test images (the IDX values after
                      the 16-byte header, in file order).
  augment_golden.json cases of torchvision's RandomCrop(32, padding=4) +
                      RandomHorizontalFlip + ToTensor + Normalize with fixed
                      draws (top, left, flip) on CIFAR-100 images, and of
                      ToTensor + Normalize on an MNIST image; inputs as CHW
                      uint8 (base64), outputs as float32 little-endian (base64).
"""
import base64
import gzip
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torchvision.transforms.functional as F
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
mnist_dir, cifar100_train = sys.argv[1], sys.argv[2]


def idx(path):
    b = gzip.open(path).read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return dims, b[4 + 4 * nd:]


golden = {}
for split, prefix in (("train", "train"), ("test", "t10k")):
    dims, px = idx(os.path.join(mnist_dir, prefix + "-images-idx3-ubyte.gz"))
    _, lab = idx(os.path.join(mnist_dir, prefix + "-labels-idx1-ubyte.gz"))
    counts = np.bincount(np.frombuffer(lab, np.uint8), minlength=10).tolist()
    golden[split] = {
        "images": dims[0],
        "counts": counts,
        "pixels_sha256": hashlib.sha256(px).hexdigest(),
        "first_labels": list(lab[:10]),
    }
with open(os.path.join(here, "mnist_golden.json"), "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")

mnist_first = np.frombuffer(idx(os.path.join(mnist_dir, "train-images-idx3-ubyte.gz"))[1][:784], np.uint8)

raw = gzip.open(cifar100_train).read()
rec = 3074
mean, std = [0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762]
cases = []
draws = [(0, 0, False), (8, 8, True), (4, 4, False), (1, 7, True), (6, 2, False), (3, 5, True)]
for k, (top, left, flip) in enumerate(draws):
    chw = np.frombuffer(raw[k * rec + 2:(k + 1) * rec], np.uint8).reshape(3, 32, 32)
    img = Image.fromarray(chw.transpose(1, 2, 0).copy(), "RGB")
    img = F.pad(img, 4, fill=0)
    img = F.crop(img, top, left, 32, 32)
    if flip:
        img = F.hflip(img)
    t = F.normalize(F.to_tensor(img), mean, std)
    cases.append({
        "c": 3, "h": 32, "w": 32, "augment": True, "dy": top, "dx": left, "flip": flip,
        "mean": mean, "std": std,
        "input": base64.b64encode(chw.tobytes()).decode(),
        "output": base64.b64encode(t.numpy().astype("<f4").tobytes()).decode(),
    })
img = Image.fromarray(mnist_first.reshape(28, 28), "L")
t = F.normalize(F.to_tensor(img), [0.1307], [0.3081])
cases.append({
    "c": 1, "h": 28, "w": 28, "augment": False, "dy": 0, "dx": 0, "flip": False,
    "mean": [0.1307], "std": [0.3081],
    "input": base64.b64encode(mnist_first.tobytes()).decode(),
    "output": base64.b64encode(t.numpy().astype("<f4").tobytes()).decode(),
})
with open(os.path.join(here, "augment_golden.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
    f.write("\n")
