"""Injected faults: a solve that raises inside the batching worker, a checkpoint altered or
cut short on disk, an ARC fit too large for the memory bound."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import torch

from trm_tool import checkpoint
from trm_tool.checkpoint import CheckpointError
from trm_tool.fitting import FitConfig
from trm_tool.puzzles import PuzzleError
from trm_tool.puzzles.arc import KIND as ARC
from trm_tool.puzzles.arc import task_text
from trm_tool.server import ServerSettings, create_app
from trm_tool.solver import load_solver
from trm_tool.solver.batching import BatchQueue
from trm_tool.solver.fit_cache import FitCache, fit_bytes
from trm_tool.solver.policy import Deadline
from trm_tool.tool import SolverPool

from .fuzz import valid_texts
from .serving import free_port, running


def test_a_failing_item_fails_alone_and_the_rest_of_its_batch_is_answered():
    runs = []

    def run(items):
        runs.append(list(items))
        if "bad" in items:
            raise ValueError("injected fault")
        return [item.upper() for item in items]

    queue = BatchQueue(run, key=lambda item: None, wait_s=0.3)
    start = threading.Barrier(6)

    def submit(item):
        start.wait()
        try:
            return queue.submit(item)
        except ValueError as err:
            return f"error: {err}"

    items = ["a", "b", "bad", "c", "d", "e"]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(submit, items))
    assert answers == ["A", "B", "error: injected fault", "C", "D", "E"]
    assert max(len(r) for r in runs) > 1  # they were batched, then retried one by one
    assert queue.submit("f") == "F"  # the worker lives on


def test_a_key_that_raises_runs_its_items_alone_instead_of_killing_the_worker():
    queue = BatchQueue(lambda items: [i * 2 for i in items], key=lambda item: 1 // item)
    assert queue.submit(0) == 0 and queue.submit(3) == 6


def test_a_solve_that_raises_in_the_worker_is_a_json_500_and_its_batch_mates_are_answered():
    torch.set_num_threads(1)
    pool = SolverPool({"maze": "/nonexistent.safetensors"}, device="cpu", views=1, retry_views=0)
    solver = pool.get("sudoku")
    poisoned, *others = valid_texts("sudoku", 5)
    poisoned_grid = solver.kind.parse(poisoned).grid
    real_run = solver.queue.run

    def faulty(calls):
        if any(call.puzzle.grid == poisoned_grid for call in calls):
            raise RuntimeError("injected fault in the batched solve")
        return real_run(calls)

    solver.queue.run = faulty
    solver.queue.wait_s = 0.3  # so the five requests share a batch
    with running(create_app(pool, ServerSettings(api_key=None))) as url:
        with httpx.Client(base_url=url, timeout=120) as http:

            def ask(text):
                return http.post("/v1/solve", json={"kind": "sudoku", "puzzle": text})

            with ThreadPoolExecutor(5) as threads:
                answers = list(threads.map(ask, [poisoned, *others]))
            assert answers[0].status_code == 500
            assert "injected fault in the batched solve" in answers[0].json()["error"]
            assert [a.status_code for a in answers[1:]] == [200] * 4
            assert max(solver.batch_sizes) > 1
            assert ask(others[0]).status_code == 200  # the worker lives on
            assert http.get("/healthz").json()["in_flight"] == 0


def copy_checkpoint(kind: str, to: Path) -> Path:
    weights = checkpoint.shipped(kind)
    shutil.copy(weights, to / weights.name)
    shutil.copy(checkpoint.card_path(weights), to / checkpoint.card_path(weights).name)
    return to / weights.name


def alter(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        del data[len(data) // 2 :]
    else:
        data[-100] ^= 0x01  # one bit of one weight
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "one bit flipped"])
def test_a_damaged_checkpoint_is_a_clear_error_at_load(tmp_path: Path, how: str):
    weights = copy_checkpoint("sudoku", tmp_path)
    checkpoint.load(weights)
    alter(weights, how)
    with pytest.raises(CheckpointError, match="does not match its card: sha256"):
        checkpoint.load(weights)


def test_serve_refuses_to_start_with_a_damaged_checkpoint(tmp_path: Path):
    weights = copy_checkpoint("maze", tmp_path)
    alter(weights, "one bit flipped")
    command = [sys.executable, "-m", "trm_tool.cli", "serve", "--port", str(free_port())]
    command += ["--checkpoint", f"maze={weights}", "--device", "cpu"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "does not match its card" in done.stdout + done.stderr
    assert time.monotonic() - started < 300


def test_a_missing_checkpoint_only_leaves_its_kind_out():
    pool = SolverPool({"maze": "/nonexistent/maze.safetensors"}, device="cpu")
    app = create_app(pool, ServerSettings(api_key=None))
    with running(app) as url:
        assert "maze" not in httpx.get(f"{url}/healthz").json()["models"]


def colour_swap_task() -> str:
    demos = [
        ([[1, 2], [0, 1]], [[2, 1], [0, 2]]),
        ([[2, 2, 1], [1, 0, 0]], [[1, 1, 2], [2, 0, 0]]),
    ]
    from trm_tool.puzzles import Puzzle

    return task_text(Puzzle(kind="arc", grid=[[1, 0], [2, 2]], examples=demos))


def test_an_arc_fit_over_the_memory_bound_is_refused_with_a_message():
    solver = load_solver("arc", device="cpu")
    solver.source.max_fit_bytes = 1024
    with pytest.raises(PuzzleError, match=r"would need about .* MiB, more than this solver"):
        solver.solve(colour_swap_task(), max_seconds=5)


def test_the_fit_cache_keeps_fitted_networks_within_its_byte_bound():
    model, _ = checkpoint.load(checkpoint.shipped("arc"))
    config = FitConfig(max_steps=1, views=1, batch_size=2, check_every=1)
    cache = FitCache(ARC, model, config, rows={}, max_cache_bytes=1)
    first = ARC.parse(colour_swap_task())
    second = first.map_grids(lambda grid: [row[::-1] for row in grid])
    for puzzle in (first, second):
        cache.get(puzzle, Deadline.after(10))
    assert list(cache.fitted) == [FitCache.key(second)]  # one kept: the newest
    assert fit_bytes(model, config, 31) > fit_bytes(model, config, 3)
