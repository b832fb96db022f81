#!/bin/sh
# Training-step throughput of Lethe beside PyTorch (CPU), in the same run:
# prints img/s for both and the Lethe/PyTorch ratio, then the memory check.
# This VM's speed drifts by 20-40% within minutes, so the two are measured
# in alternating rounds (ROUNDS, default 3): each round runs Lethe's
# benchmark for 5 seconds per model, then PyTorch's (1 and 2 threads, 5
# seconds each); each side keeps its best round.
# PyTorch comes from Debian's python3-torch (/usr/bin/python3); without it
# only Lethe's figures are printed.
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
torch=yes
if ! "$PY" -c 'import torch, torchvision' 2>/dev/null; then
	echo "PyTorch not found ($PY); install python3-torch python3-torchvision for the comparison" >&2
	torch=""
fi
go test -c -o "$tmp/nn.test" ./nn/
i=1
while [ "$i" -le "$ROUNDS" ]; do
	echo "# round $i of $ROUNDS"
	(cd nn && "$tmp/nn.test" -test.run '^$' -test.bench 'TrainStep' -test.benchtime "${BENCHTIME:-5s}") | tee -a "$tmp/go.txt" | grep img/s
	if [ -n "$torch" ]; then
		OMP_WAIT_POLICY=PASSIVE "$PY" scripts/bench_torch_cpu.py | tee -a "$tmp/torch.txt"
	fi
	i=$((i + 1))
done
printf '\n%-10s %12s %12s %8s   (best of %s rounds each)\n' model lethe_img/s torch_img/s ratio "$ROUNDS"
for m in smallcnn resnet18; do
	case $m in smallcnn) b=BenchmarkTrainStepSmallCNN ;; resnet18) b=BenchmarkTrainStepResNet18 ;; esac
	l=$(awk -v b="$b" '$1 ~ "^"b"(-[0-9]+)?$" {for (i=1;i<=NF;i++) if ($(i+1)=="img/s" && $i+0 > best) best=$i+0} END {if (best) print best}' "$tmp/go.txt")
	t=$( [ -n "$torch" ] && awk -v m=$m '$1==m && $2+0 > best {best=$2+0} END {if (best) print best}' "$tmp/torch.txt" || echo "")
	r=$( [ -n "$t" ] && awk -v l="$l" -v t="$t" 'BEGIN {printf "%.2f", l/t}' || echo "-")
	printf '%-10s %12s %12s %8s\n' "$m" "$l" "${t:--}" "$r"
done
(cd nn && "$tmp/nn.test" -test.run '^$' -test.bench 'MemoryFlat' -test.benchtime 1x) | grep -E 'Memory'
