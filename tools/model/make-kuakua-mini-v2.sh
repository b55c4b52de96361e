#!/usr/bin/env bash
# The conditioned generator tried as kuakua-mini v2 (models/kuakua-mini/README.md, "v2: tried, not shipped"): kuakua-mini
# as released (read back from models/kuakua-mini) fine-tuned on the praise corpus (data/praise) and the douban rows, in
# a prompt that names the post reader's intent and subject. Writes .model-cache/mini-v2, not models/: its samples
# were not good enough to ship. Resumable.
# Usage: bash tools/model/make-kuakua-mini-v2.sh [DATA_DIR]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA_DIR=${1:-../shared/data}
WORK=.model-cache
export OMP_WAIT_POLICY=PASSIVE

python3 tools/model/main.py build-data --data-dir "$DATA_DIR" --out "$WORK/mini-data"
python3 tools/model/main.py unpack models/kuakua-mini --out "$WORK/mini-ckpt"
node --import tsx tools/praise/export.ts --out "$WORK/praise-export"
python3 tools/model/main.py praise-rows --corpus "$WORK/praise-export" --douban "$WORK/mini-data" --out "$WORK/praise-rows"
python3 tools/model/main.py train --init "$WORK/mini-ckpt" --data "$WORK/praise-rows/train.jsonl" \
  --valid "$WORK/praise-rows/valid-corpus.jsonl" --out "$WORK/praise-ckpt" --resume \
  --seq-len 96 --batch 32 --steps 1200 --lr 3e-4 --warmup 50 --general-frac 0 --mix 0 --max-minutes 40 --seed 2026
python3 tools/model/main.py convert "$WORK/praise-ckpt" --out "$WORK/mini-v2" --name kuakua-mini-v2 --temperature 0.8 --conditioned
