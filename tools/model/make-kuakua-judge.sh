#!/usr/bin/env bash
# Reproduces models/kuakua-judge (see its README.md): training groups from the shared praise data with a generator's
# own samples as one kind of negative, then the judge, initialised from that generator's weights. The generator is
# kuakua-mini as released at BASE (before its retraining on cleaned data), read from git history.
# Usage: bash tools/model/make-kuakua-judge.sh [DATA_DIR]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA_DIR=${1:-../shared/data}
WORK=.model-cache
export OMP_WAIT_POLICY=PASSIVE

BASE=30034c2
mkdir -p "$WORK/judge-base/onnx"
for f in config.json tokenizer.json tokenizer_config.json vocab.txt onnx/model.onnx; do
  git show "$BASE:models/kuakua-mini/$f" > "$WORK/judge-base/$f"
done
python3 tools/model/main.py unpack "$WORK/judge-base" --out "$WORK/judge-generator"
python3 tools/model/main.py judge-data --data-dir "$DATA_DIR" --generator "$WORK/judge-generator" --out "$WORK/judge-data"
python3 tools/model/main.py judge-train --data "$WORK/judge-data" --init "$WORK/judge-generator" \
  --out "$WORK/judge-state" --out-dir models/kuakua-judge --resume \
  --steps 1000 --batch 12 --lr 2e-4 --warmup 60 --save-every 50 --max-minutes 45
