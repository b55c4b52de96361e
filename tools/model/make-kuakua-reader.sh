#!/usr/bin/env bash
# Reproduces models/kuakua-reader (see its README.md): checks and splits the labelled posts in data/reader (douban rows
# are joined to their titles in the shared data), then trains the reader from kuakua-mini's weights. Resumable: run it
# again after an interruption and training goes on from its last saved step.
# Usage: bash tools/model/make-kuakua-reader.sh [DATA_DIR]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA_DIR=${1:-../shared/data}
WORK=.model-cache
export OMP_WAIT_POLICY=PASSIVE

node --import tsx tools/reader/prepare.ts --data-dir "$DATA_DIR" --out "$WORK/reader-data"
python3 tools/model/main.py reader-train --data "$WORK/reader-data" --init-dir models/kuakua-mini \
  --out "$WORK/reader-state" --out-dir models/kuakua-reader --resume --steps 1000
