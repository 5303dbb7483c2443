# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean

# CPU torch unless a CUDA GPU is present: a plain `pip install torch` on Linux pulls a
# multi-GB CUDA build, so torch is pinned to the CPU build first and the package's own
# `torch>=2.4` is then already satisfied.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; \
		then $(BIN)/pip install --quiet torch; \
		else $(BIN)/pip install --quiet torch==2.13.0; fi
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/trm-tool solve --kind sudoku "$$(cat examples/sudoku_easy.txt)"
	$(BIN)/python evals/run.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest -m "not slow" --timeout 900

clean:
	rm -rf $(VENV) .pytest_cache runs
