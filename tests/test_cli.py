"""The `trm-tool` command line with the shipped Sudoku checkpoint."""

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parent.parent / "examples" / "sudoku_easy.txt"


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


def test_solve_reads_stdin_and_detects_the_kind():
    run = trm_tool("solve", "-", "--json", stdin=EXAMPLE.read_text())
    assert run.returncode == 0, run.stderr
    assert '"kind": "sudoku"' in run.stdout and '"verified": true' in run.stdout


def test_bad_puzzle_is_a_clear_error_not_a_traceback():
    run = trm_tool("solve", "--kind", "sudoku", "1234")
    assert run.returncode == 2
    assert run.stderr.startswith("error:") and "Traceback" not in run.stderr
