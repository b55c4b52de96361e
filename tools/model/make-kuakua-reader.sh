#!/usr/bin/env bash
# Reproduces models/kuakua-reader (see its README.md): checks and splits the labelled posts in data/reader (douban rows
# are joined to their titles in the shared data; the praise corpus's posts join as more intents), then trains the reader
# from the weights of kuakua-mini as released at BASE (before its v2 fine-tune), read from git history. Resumable: run
# it again after an interruption and training goes on from its last saved step. The distress threshold is the one of
# highest dev recall at which at least 80% of the dev posts flagged are distress (models/kuakua-reader/README.md).
# Usage: bash tools/model/make-kuakua-reader.sh [DATA_DIR]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA_DIR=${1:-../shared/data}
WORK=.model-cache
export OMP_WAIT_POLICY=PASSIVE

BASE=ad2a31a
mkdir -p "$WORK/reader-base/onnx"
for f in config.json tokenizer.json tokenizer_config.json vocab.txt onnx/model.onnx; do
  git show "$BASE:models/kuakua-mini/$f" > "$WORK/reader-base/$f"
done
node --import tsx tools/reader/prepare.ts --data-dir "$DATA_DIR" --out "$WORK/reader-data"
python3 tools/model/main.py reader-train --data "$WORK/reader-data" --init-dir "$WORK/reader-base" \
  --out "$WORK/reader-state" --out-dir models/kuakua-reader --resume --steps 1000 --min-precision 0.8 --seed 7
