#!/usr/bin/env bash
# Second GPU check: the whole pipeline on CUDA (the quickstart through
# `lethe run --device cuda`), every baseline on the GPU against the CPU,
# and the MNIST table of every method on the GPU. Expects gpu/ built by
# scripts/build-gpu-check.sh plus gpu/lethe (go build -o gpu/lethe .) and
# gpu/unlearn_check.test (go test -c -tags cuda_check -o gpu/unlearn_check.test ./unlearn).
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-$(mktemp -d)}
export OUT LETHE_MNIST="$ROOT/gpu/mnist"
nvidia-smi -L
echo "=== quickstart on the GPU ($(date +%T))"
timeout -k 5 170 gpu/lethe run experiments/quickstart.hcl --device cuda --store /tmp/qs 2>&1 | tee "$OUT/quickstart-gpu.txt" | tail -32
echo "--- exit status ${PIPESTATUS[0]}"
echo "=== cached rerun ($(date +%T))"
( time gpu/lethe run experiments/quickstart.hcl --device cuda --store /tmp/qs ) 2>&1 | tail -6
cd "$ROOT/unlearn"
echo "=== baselines: GPU against CPU ($(date +%T))"
timeout -k 5 100 "$ROOT/gpu/unlearn_check.test" -test.v -test.run TestGPUBaselinesMatchCPU -test.timeout 95s 2>&1 | tee "$OUT/gpu-baselines.log" | grep -E "max\||FAIL|PASS|ok|ssd dampened|skip" | head -40
echo "=== MNIST table on the GPU ($(date +%T))"
timeout -k 5 230 "$ROOT/gpu/unlearn_check.test" -test.v -test.run TestGPUMNISTTable -test.timeout 225s 2>&1 | tail -5
cat "$OUT/gpu-table.md" 2>/dev/null
echo "=== done ($(date +%T))"
