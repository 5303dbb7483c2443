"""The GPU sprint rehearsed on the CPU, so that it cannot break unnoticed before a GPU is lent.

The fast tests check its two mechanisms (the puzzle feed, a failing phase recorded without
stopping the sprint); the slow test runs the whole sprint as the device would
(`scripts/gpu_sprint.sh`, `--device cpu --minutes 0.2`) and checks what it brings back.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from safetensors import safe_open

from trm_tool import checkpoint
from trm_tool.data import held_out
from trm_tool.feed import Feed
from trm_tool.puzzles import get_kind
from trm_tool.sprint import launch, wait
from trm_tool.trainer import TrainState

ROOT = Path(__file__).resolve().parents[1]


def test_feed_serves_the_kinds_held_out_sets_and_valid_fresh_then_reused_puzzles():
    maze = get_kind("maze")
    with Feed(maze, ["small"], workers=1, held_out_size=3, chunk=2) as feed:
        fed = feed.kind()
        assert [p.grid for p, _ in held_out(fed, "small", 3)] == [
            p.grid for p, _ in held_out(maze, "small", 3)
        ]
        rng = random.Random(0)
        pairs = [fed.generate(rng, "small") for _ in range(60)]
        stats = feed.stats()["small"]
    assert all(maze.verify(puzzle, solution) for puzzle, solution in pairs)
    assert stats["fresh"] >= 1 and stats["reused"] >= 1
    assert stats["fresh"] + stats["reused"] == 60


def test_a_failing_phase_is_recorded_with_its_log(tmp_path):
    result = wait(launch("no-such-phase", "cpu", 1.0, tmp_path), tmp_path, "cpu")
    assert "KeyError" in result["error"]
    assert result["wall_s"] > 0


@pytest.mark.slow
def test_the_sprint_rehearsed_on_the_cpu_brings_back_loadable_weights_and_a_report(tmp_path):
    out = tmp_path / "out"
    env = os.environ | {"PYTHON": sys.executable, "DEVICE": "cpu", "MINUTES": "0.2"}
    done = subprocess.run(
        ["bash", "scripts/gpu_sprint.sh"],
        cwd=ROOT,
        env=env | {"OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    failed = {
        name: p.get("log_tail", p["error"]) for name, p in report["phases"].items() if "error" in p
    }
    assert not failed, failed
    files = sorted(p.name for p in out.iterdir())
    assert files == ["arc.tar", "maze.tar", "report.json", "sprint.log", "sudoku.tar"]
    assert report["phases"]["checks"]["sudoku"]["fp32_rows_equal_cpu"] == 1.0
    assert report["phases"]["bench"]["sudoku"]["sweep"]

    for name in ("arc", "sudoku", "maze"):
        with tarfile.open(out / f"{name}.tar") as tar:
            tar.extractall(tmp_path / "back", filter="data")
        folder = tmp_path / "back" / name
        model, card = checkpoint.load(folder / f"{name}.safetensors")
        resume = folder / "resume.safetensors"
        assert resume.stat().st_size <= 16 * 2**20
        state = TrainState.create(model, 1e-3, 1e-2, 0.1, 0.999)
        state.load(resume)
        assert state.counters.step >= 1

    arc = report["phases"]["arc"]
    assert arc["counters_after"]["step"] > arc["counters_before"]["step"]
    assert arc["counters_after"]["elapsed_s"] > arc["counters_before"]["elapsed_s"]
    with safe_open(str(tmp_path / "back" / "arc" / "resume.safetensors"), "pt") as f:
        assert json.loads(f.metadata()["counters"]) == arc["counters_after"]
    sudoku = report["phases"]["sudoku"]
    assert sudoku["counters"]["step"] >= 1 and sudoku["held_out_after"]
