#!/usr/bin/env bash
# One informative GPU check for the CUDA backend, at most ~7 minutes.
#
# Expects gpu/ at the repository root, built elsewhere by
# scripts/build-gpu-check.sh (the GPU machine has no Go). Writes its logs
# to $OUT (a temporary directory when unset):
#   gpu-check.log   everything, in order
#   gpu-tests.log   go test -v output of the GPU tests (every op vs the
#                   reference, TF32, training steps, copies, kernel cache)
#   lethe-bench.txt Lethe's GPU benchmarks
#   torch-bench.txt PyTorch's, same models, same machine, same run
#   summary.txt     Lethe/PyTorch time ratios and the OSP time
# Every step has its own timeout and a failing step does not stop later
# ones.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1

step() { echo; echo "=== $* ($(date +%T))"; }
# run SECONDS CMD...: run with a timeout, report how it ended.
run() {
	local limit=$1
	shift
	timeout -k 5 "$limit" "$@"
	local rc=$?
	[ $rc -eq 124 ] && echo "--- TIMED OUT after ${limit}s: $*"
	echo "--- exit status $rc"
	return 0
}
PY=python3
[ -x /opt/torch/.venv/bin/python3 ] && PY=/opt/torch/.venv/bin/python3

step "environment"
run 30 nvidia-smi
run 10 nvidia-smi --query-gpu=name,memory.total,compute_cap,driver_version,clocks.max.sm --format=csv
uname -a
head -2 /etc/os-release
ldd --version | head -1
nproc

step "CUDA libraries"
ldconfig -p | grep -E 'libcuda\.so|libnvrtc|libcublas|libcudnn' || echo "(none in the loader cache)"
run 30 find / -xdev \( -name 'libcuda.so*' -o -name 'libnvrtc*.so*' -o -name 'libcublas*.so*' -o -name 'libcudnn*.so*' \) -not -path '/proc/*' 2>/dev/null
run 30 "$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(), torch.cuda.get_device_name(0))'

if [ ! -x gpu/cuda.test ]; then
	echo "gpu/cuda.test is missing: run scripts/build-gpu-check.sh where Go is installed"
	exit 1
fi

# The tests read testdata/ relative to their package directory.
cd "$ROOT/nn/cuda"

step "GPU tests (each op against the CPU backend, then models; NVRTC compiling the kernels)"
run 150 "$ROOT/gpu/cuda.test" -test.v -test.count=1 -test.run '^(TestGPU|TestNVRTC)' -test.timeout 145s 2>&1 | tee "$OUT/gpu-tests.log"
grep -E '^(--- FAIL|FAIL|ok|PASS)' "$OUT/gpu-tests.log" | head -40

step "Lethe benchmarks"
# ==== Lethe benchmark binary: BenchmarkGPUResNet18Step (batch 256),
# ==== BenchmarkGPUSmallCNNStep (batch 64), BenchmarkGPUOSP.
run 70 "$ROOT/gpu/cuda.test" -test.run '^$' -test.bench '^BenchmarkGPU' -test.benchtime 20x -test.timeout 65s 2>&1 | tee "$OUT/lethe-bench.txt"

step "OSP on the GPU (unlearn's OSP: activation pass, ranking, scaling; ResNet-18 and SmallCNN, 64+64 samples)"
cd "$ROOT/unlearn"
LETHE_BENCH_DEVICE=cuda LETHE_DATA="$ROOT/gpu/data" LETHE_MNIST="$ROOT/gpu/mnist" \
	run 90 "$ROOT/gpu/unlearn.test" -test.run '^$' -test.bench '^BenchmarkOSP' -test.benchtime 20x -test.timeout 85s 2>&1 | tee -a "$OUT/lethe-bench.txt"

step "PyTorch benchmarks"
cd "$ROOT"
run 70 "$PY" scripts/bench_torch_gpu.py 2>&1 | tee "$OUT/torch-bench.txt"

step "summary"
"$PY" - "$OUT/lethe-bench.txt" "$OUT/torch-bench.txt" <<'PYEOF' | tee "$OUT/summary.txt"
import re, sys
lethe, torch = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"Benchmark(GPU\w+?|OSP\w+?)(-\d+)?\s+\d+\s+.*?([\d.]+) ms/(step|pass|osp)", line)
    if m:
        lethe[m.group(1)] = float(m.group(3))
for line in open(sys.argv[2]):
    m = re.match(r"torch (\S+) ([\d.]+) ms", line)
    if m:
        torch[m.group(1)] = float(m.group(2))
pairs = [("ResNet-18 CIFAR step, batch 256", "GPUResNet18Step", "resnet18_b256_step", 1.0),
         ("SmallCNN step, batch 64", "GPUSmallCNNStep", "smallcnn_b64_step", None),
         ("OSP pass, ResNet-18, 64+64 samples", "OSPResNet18", "osp_resnet18", None)]
for name, lk, tk, target in pairs:
    l, t = lethe.get(lk), torch.get(tk)
    if l is None or t is None:
        print(f"{name}: Lethe {l} ms, PyTorch {t} ms (missing)")
        continue
    verdict = ""
    if target is not None:
        verdict = "  (target <= %.1fx: %s)" % (target, "met" if l / t <= target else "NOT met")
    print(f"{name}: Lethe {l:.2f} ms, PyTorch {t:.2f} ms, Lethe/PyTorch = {l / t:.2f}x{verdict}")
    synced = torch.get(tk + "_with_loss_read")
    if synced:
        # Lethe's training step reads the loss (a host synchronisation);
        # this PyTorch variant does too.
        print(f"  PyTorch reading the loss each step: {synced:.2f} ms, Lethe/PyTorch = {l / synced:.2f}x")
if "OSPResNet18" in lethe:
    print("OSP target <= 10 ms: %s" % ("met" if lethe["OSPResNet18"] <= 10 else "NOT met"))
if "OSPSmallCNN" in lethe:
    print("OSP SmallCNN: %.2f ms" % lethe["OSPSmallCNN"])
PYEOF
echo "logs in $OUT"
