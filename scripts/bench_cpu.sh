#!/bin/sh
# Training-step throughput of Lethe beside PyTorch (CPU), in the same run:
# prints img/s for both and the Lethe/PyTorch ratio, then the memory check.
# Both sides measure alike: PyTorch the best of two 5-second runs (1 and 2
# threads), Lethe the best of two 5-second runs, each after warm-up steps
# (this machine's speed drifts by 20-40% between runs).
# PyTorch comes from Debian's python3-torch (/usr/bin/python3); without it
# only Lethe's figures are printed.
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -run '^$' -bench 'TrainStep' -benchtime "${BENCHTIME:-5s}" -count "${BENCHCOUNT:-2}" ./nn/ | tee "$tmp/go.txt"
torch=""
if "$PY" -c 'import torch, torchvision' 2>/dev/null; then
	OMP_WAIT_POLICY=PASSIVE "$PY" scripts/bench_torch_cpu.py > "$tmp/torch.txt"
	torch="$tmp/torch.txt"
else
	echo "PyTorch not found ($PY); install python3-torch python3-torchvision for the comparison" >&2
fi
printf '\n%-10s %12s %12s %8s\n' model lethe_img/s torch_img/s ratio
for m in smallcnn resnet18; do
	case $m in smallcnn) b=BenchmarkTrainStepSmallCNN ;; resnet18) b=BenchmarkTrainStepResNet18 ;; esac
	l=$(awk -v b="$b" '$1 ~ "^"b"(-[0-9]+)?$" {for (i=1;i<=NF;i++) if ($(i+1)=="img/s" && $i+0 > best) best=$i+0} END {if (best) print best}' "$tmp/go.txt")
	t=$( [ -n "$torch" ] && awk -v m=$m '$1==m {print $2}' "$torch" || echo "")
	r=$( [ -n "$t" ] && awk -v l="$l" -v t="$t" 'BEGIN {printf "%.2f", l/t}' || echo "-")
	printf '%-10s %12s %12s %8s\n' "$m" "$l" "${t:--}" "$r"
done
go test -run '^$' -bench 'MemoryFlat' -benchtime 1x ./nn/ | grep -E 'Memory|ok'
