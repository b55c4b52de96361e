#!/usr/bin/env bash
# Reproduces models/kuakua-judge (see its README.md). Training groups come from the shared praise data, with a
# generator's own samples as one kind of negative, and from the praise corpus written for kuakua (data/praise), whose
# negatives fit the tone but not the post. The judge is v1 (trained from that generator's weights on the douban groups,
# as released at JUDGE_V1) fine-tuned on both. The generator is kuakua-mini as released at BASE, read from git history.
# Usage: bash tools/model/make-kuakua-judge.sh [DATA_DIR]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA_DIR=${1:-../shared/data}
WORK=.model-cache
export OMP_WAIT_POLICY=PASSIVE

BASE=30034c2
JUDGE_V1=ad2a31a
mkdir -p "$WORK/judge-base/onnx" "$WORK/judge-v1/onnx"
for f in config.json tokenizer.json tokenizer_config.json vocab.txt onnx/model.onnx; do
  git show "$BASE:models/kuakua-mini/$f" > "$WORK/judge-base/$f"
done
for f in config.json tokenizer.json tokenizer_config.json vocab.txt onnx/judge.onnx; do
  git show "$JUDGE_V1:models/kuakua-judge/$f" > "$WORK/judge-v1/$f"
done
python3 tools/model/main.py unpack "$WORK/judge-base" --out "$WORK/judge-generator"
node --import tsx tools/praise/export.ts --out "$WORK/praise-export"
python3 tools/model/main.py judge-data --data-dir "$DATA_DIR" --generator "$WORK/judge-generator" \
  --corpus "$WORK/praise-export" --out "$WORK/judge-data"
python3 tools/model/main.py judge-train --data "$WORK/judge-data" --init "$WORK/judge-generator" \
  --init-judge "$WORK/judge-v1" --out "$WORK/judge-state" --out-dir models/kuakua-judge --resume \
  --steps ${JUDGE_STEPS:-400} --batch 12 --lr 1e-4 --warmup 20 --save-every 50 --max-minutes 45
