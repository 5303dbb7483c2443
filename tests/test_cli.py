"""The `trm-tool` command line with the shipped Sudoku and maze checkpoints."""

import argparse
import json
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
    result = json.loads(run.stdout)
    assert result["kind"] == "sudoku" and result["verified"] is True


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


def test_solve_reads_a_file_given_as_its_path():
    run = trm_tool("solve", str(EXAMPLE))  # the path, not the text: the kind is detected
    assert run.returncode == 0, run.stderr
    assert "[verified;" in run.stdout and run.stdout.count("|") == 18


def test_a_text_that_is_no_file_is_still_the_puzzle():
    line = "".join(c for c in EXAMPLE.read_text() if c in "123456789.")
    assert len(line) == 81 and not Path(line).exists()
    run = trm_tool("solve", line)
    assert run.returncode == 0, run.stderr
    assert "[verified;" in run.stdout


def test_json_output_is_one_compact_line():
    run = trm_tool("solve", "--json", str(MAZE_EXAMPLE))
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("\n") == 1 and ": " not in run.stdout  # not one number per line
    result = json.loads(run.stdout)
    assert result["kind"] == "maze" and result["verified"] is True
    assert len(result["grid"]) == len(MAZE_EXAMPLE.read_text().splitlines())


def test_one_step_and_one_view_are_singular():
    run = trm_tool("solve", str(EXAMPLE), "--views", "1", "--max-steps", "1", "--retry-views", "0")
    assert run.returncode in (0, 3), run.stderr  # 3: the answer did not verify
    assert "; 1 step; 1 view;" in run.stdout


def test_every_argument_has_help_and_the_budget_help_names_each_kinds_default():
    from trm_tool.cli import build_parser
    from trm_tool.puzzles import KIND_NAMES, get_kind
    from trm_tool.solver import MAX_SECONDS

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in commands.choices.items():
        for action in parser._actions:
            assert action.help, f"trm-tool {name} {'/'.join(action.option_strings)} has no help"
    budget = next(a for a in commands.choices["solve"]._actions if a.dest == "max_seconds").help
    for kind in KIND_NAMES:
        seconds = get_kind(kind).default_max_seconds or MAX_SECONDS
        assert f"{kind} {seconds:g} s" in budget
    assert "arc 120 s" in budget  # the one kind with its own budget today


def test_train_help_names_trm_tool_train():
    run = trm_tool("train", "--help")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: trm-tool train")


def test_a_sudoku_that_breaks_the_rules_is_told_so_first():
    rows = EXAMPLE.read_text().splitlines()
    rows[0] = rows[0].replace("6 3 .", "6 3 6", 1)  # a second 6 in the first row
    run = trm_tool("solve", "\n".join(rows))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    first_sentence = run.stderr.removeprefix("error: ").split(".")[0]
    assert first_sentence.startswith("The Sudoku breaks the rules"), run.stderr
    assert "digit 6 appears twice in row 1" in first_sentence


def test_row_labels_are_read_and_kept_in_the_answer():
    rows = [line.replace("|", "") for line in EXAMPLE.read_text().splitlines() if "-" not in line]
    labelled = "\n".join(f"row {number}: {row}" for number, row in enumerate(rows, 1))
    run = trm_tool("solve", labelled)
    assert run.returncode == 0, run.stderr
    answer = run.stdout.split("\n\n[")[0].splitlines()
    assert [line.split(":")[0] for line in answer] == [f"row {n}" for n in range(1, 10)]
    assert "[verified;" in run.stdout


def test_an_arc_bench_with_a_journal_resumes_and_refuses_another_runs_journal(tmp_path):
    journal = tmp_path / "arc.jsonl"
    args = ["bench", "--kind", "arc", "--tier", "arc1", "--seed", "0", "--jobs", "1"]
    args += ["--journal", str(journal)]
    first = trm_tool(*args, "--n", "1", "--max-seconds", "1")
    assert first.returncode == 0, first.stderr
    header, outcome = (json.loads(line) for line in journal.read_text().splitlines())
    assert header["tier"] == "arc1" and header["max_seconds"] == 1.0
    assert "[1/1]" in first.stdout and outcome["seconds"] > 0

    # the seeded sample of 2 tasks holds the sample of 1: one task is read, one fitted
    resumed = trm_tool(*args, "--n", "2", "--max-seconds", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert f"1 of 2 tasks read from {journal}" in resumed.stdout
    assert "[2/2]" in resumed.stdout and "[1/2]" not in resumed.stdout
    assert len(journal.read_text().splitlines()) == 3

    other = trm_tool(*args, "--n", "1", "--max-seconds", "2")
    assert other.returncode == 2 and "written for another run" in other.stderr
    assert len(journal.read_text().splitlines()) == 3
