#!/usr/bin/env bash
# Reproduces models/kuakua-mini from the public praise data (see models/kuakua-mini/README.md): a from-scratch run,
# then continued training on the cleaned praise rows.
# Usage: bash tools/model/make-kuakua-mini.sh [DATA_DIR]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA_DIR=${1:-../shared/data}
WORK=.model-cache
export OMP_WAIT_POLICY=PASSIVE

python3 tools/model/main.py build-data --data-dir "$DATA_DIR" --out "$WORK/mini-data"
python3 tools/model/main.py train --data "$WORK/mini-data/train.jsonl" --general "$WORK/mini-data/general.jsonl" \
  --valid "$WORK/mini-data/valid.jsonl" --out "$WORK/mini-base-ckpt" --resume \
  --layers 4 --heads 4 --hidden 256 --positions 128 --vocab-size 3500 --seq-len 96 --batch 32 \
  --steps 6000 --lr 1e-3 --warmup 300 --general-frac 0.2 --max-minutes 65 --seed 1234
python3 tools/model/main.py train --init "$WORK/mini-base-ckpt" --data "$WORK/mini-data/train.jsonl" \
  --general "$WORK/mini-data/general.jsonl" --valid "$WORK/mini-data/valid.jsonl" --out "$WORK/mini-ckpt" --resume \
  --seq-len 96 --batch 32 --steps 3000 --lr 3e-4 --warmup 100 --general-frac 0 --mix 0.1 --max-minutes 40 --seed 4321
python3 tools/model/main.py convert "$WORK/mini-ckpt" --out models/kuakua-mini --name kuakua-mini --temperature 0.8
cp "$WORK/mini-ckpt/train_metrics.json" models/kuakua-mini/train_metrics.json
