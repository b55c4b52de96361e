#!/usr/bin/env bash
# Reproduces models/kuakua-mini from the public praise data and the praise corpus written for kuakua (see
# models/kuakua-mini/README.md): a from-scratch run, continued training on the cleaned praise rows, then (v2) a
# fine-tune on the corpus and the douban rows in a prompt that names the post reader's intent and subject.
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
node --import tsx tools/praise/export.ts --out "$WORK/praise-export"
python3 tools/model/main.py praise-rows --corpus "$WORK/praise-export" --douban "$WORK/mini-data" --out "$WORK/praise-rows"
python3 tools/model/main.py train --init "$WORK/mini-ckpt" --data "$WORK/praise-rows/train.jsonl" \
  --valid "$WORK/praise-rows/valid-corpus.jsonl" --out "$WORK/praise-ckpt" --resume \
  --seq-len 96 --batch 32 --steps ${V2_STEPS:-1200} --lr 3e-4 --warmup 50 --general-frac 0 --mix 0 --max-minutes 40 --seed 2026
python3 tools/model/main.py convert "$WORK/praise-ckpt" --out models/kuakua-mini --name kuakua-mini --temperature 0.8 --conditioned
cp "$WORK/praise-ckpt/train_metrics.json" models/kuakua-mini/train_metrics.json
