"""The `trm-tool` command line with the shipped Sudoku and maze checkpoints."""

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parent.parent / "examples" / "sudoku_easy.txt"
MAZE_EXAMPLE = EXAMPLE.with_name("maze_small.txt")


def trm_tool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trm_tool.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_solve_prints_a_verified_solution_for_the_easy_example():
    run = trm_tool("solve", "--kind", "sudoku", EXAMPLE.read_text())
    assert run.returncode == 0, run.stderr
    assert "[verified;" in run.stdout
    assert run.stdout.count("|") == 18  # the answer keeps the input's pretty layout


def test_solve_prints_a_verified_path_for_the_small_maze_example():
    run = trm_tool("solve", "--kind", "maze", MAZE_EXAMPLE.read_text())
    assert run.returncode == 0, run.stderr
    assert "[verified;" in run.stdout
    assert run.stdout.count("o") > 20  # the path, drawn in the input's own glyphs


def test_solve_reads_stdin_and_detects_the_kind():
    run = trm_tool("solve", "-", "--json", stdin=EXAMPLE.read_text())
    assert run.returncode == 0, run.stderr
    assert '"kind": "sudoku"' in run.stdout and '"verified": true' in run.stdout


def test_bad_puzzle_is_a_clear_error_not_a_traceback():
    run = trm_tool("solve", "--kind", "sudoku", "1234")
    assert run.returncode == 2
    assert run.stderr.startswith("error:") and "Traceback" not in run.stderr


def test_bench_records_its_numbers_and_command_in_the_model_card(tmp_path):
    from trm_tool import checkpoint

    weights = tmp_path / "sudoku.safetensors"
    shipped = checkpoint.shipped("sudoku")
    weights.write_bytes(shipped.read_bytes())
    checkpoint.card_path(weights).write_text(checkpoint.card_path(shipped).read_text())
    args = ["bench", "--kind", "sudoku", "--checkpoint", str(weights), "--tier", "singles"]
    args += ["--n", "4", "--views", "1", "--batches", "1"]
    run = trm_tool(*args, "--record")
    assert run.returncode == 0, run.stderr
    _, card = checkpoint.load(weights)  # the weights still match the card
    row, retried = card.held_out
    assert row.n == 4 and row.split == "sudoku/singles held-out, views=1"
    assert retried.split == "sudoku/singles held-out, views=1 + 8 retry views"
    assert retried.exact >= row.exact
    assert row.command == "trm-tool " + " ".join(args)
    assert f"{row.exact:.3f}" in run.stdout and card.training["speed"][0]["batch"] == 1
    concurrency = card.training["concurrency"]
    assert concurrency["calls"] == 32 and concurrency["mean_batch"] >= 1
    assert f"{concurrency['gain']:.2f}x" in run.stdout
