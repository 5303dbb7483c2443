"""evals/run.py: metric helpers, scoring, resume and user files without an LLM, then the whole
pipeline on 2 items of every suite under every condition with the real SmolLM2 and TRM."""

import json

import pytest

from evals import run as ev
from evals.report import Record, accuracy_text, latest, percentile, summarize_cell
from trm_tool.data import held_out, wilson_interval
from trm_tool.puzzles import get_kind

SUDOKU = get_kind("sudoku")
MAZE = get_kind("maze")


def record(condition="llm", status="ok", correct=True, item_id="a", **fields) -> Record:
    return Record(
        suite="s",
        item_id=item_id,
        kind="sudoku",
        condition=condition,
        model="m",
        status=status,
        correct=correct,
        question="q",
        **fields,
    )


def sudoku_item(i: int = 0) -> ev.Item:
    puzzle, solution = held_out(SUDOKU, "hard", i + 1)[i]
    return ev.Item(suite="sudoku", item_id=str(i), puzzle=puzzle, solutions=[solution])


# ---------------------------------------------------------------------------------------------
# Metrics


def test_percentile_interpolates():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 0.0, 20.0], 100) == 20.0


def test_cell_metrics():
    records = [
        record("llm", "ok", True, "a", latency_ms=100, tokens_in=10, tokens_out=4),
        record("llm", "ok", False, "b", latency_ms=300, tokens_in=30, tokens_out=8),
        record("llm", "parse_failure", False, "c", latency_ms=200, tokens_in=20, tokens_out=6),
        record("llm", "skipped", False, "d"),
        record("llm", "error", False, "e", latency_ms=400, error="boom"),
    ]
    cell = summarize_cell("s", "llm", records)
    assert (cell.n, cell.correct, cell.accuracy) == (5, 1, 0.2)
    assert (cell.ci_low, cell.ci_high) == wilson_interval(1, 5)
    assert cell.parse_failure_rate == 0.25  # of the 4 items that ran (the skip did not)
    assert (cell.errors, cell.skipped) == (1, 1)
    assert cell.latency_p50_ms == 250
    assert cell.tokens_in_mean == 15
    assert cell.tool_call_rate is None  # only llm+trm calls tools
    assert accuracy_text(cell).endswith("(n=5) 1 err, 1 skip")


def test_tool_call_rate_and_not_applicable_cells():
    call = ev.ToolCallRecord(
        name="solve_sudoku",
        args={},
        args_used={"puzzle": "x"},
        snapped=True,
        forced=True,
        verified=True,
        content="ok",
    )
    agent = [record("llm+trm", tool_calls=[call]), record("llm+trm", item_id="b")]
    assert summarize_cell("s", "llm+trm", agent).tool_call_rate == 0.5
    solver = summarize_cell("s", "solver", [record("solver", "n/a", None)])
    assert solver.n == 0 and solver.accuracy is None and accuracy_text(solver) == "-"


def test_latest_keeps_the_last_line_of_each_key():
    lines = [record(status="error", correct=False), record(status="ok", correct=True)]
    assert [r.status for r in latest(lines)] == ["ok"]


# ---------------------------------------------------------------------------------------------
# Scoring


def test_scoring_uses_the_exact_check_and_reference_solutions():
    item = sudoku_item()
    solution = item.solutions[0]
    wrong = [row[:] for row in solution]
    wrong[0][0], wrong[0][1] = wrong[0][1], wrong[0][0]
    assert ev.score(item, ev.Outcome(grids=[solution])) is True
    assert ev.score(item, ev.Outcome(grids=[wrong])) is False
    assert ev.score(item, ev.Outcome(grids=[wrong, solution])) is False  # Sudoku: pass@1
    assert ev.score(item, ev.Outcome(status="parse_failure")) is False
    assert ev.score(item, ev.Outcome(status="n/a")) is None


def test_arc_is_scored_pass_at_2():
    puzzle, outputs = get_kind("arc").evaluation_puzzles("arc1")[0]
    item = ev.Item(suite="arc", item_id="t", puzzle=puzzle, solutions=outputs)
    other = [[9]]
    assert item.attempts == 2
    assert ev.score(item, ev.Outcome(grids=[other, outputs[0]])) is True
    assert ev.score(item, ev.Outcome(grids=[other, other, outputs[0]])) is False
    unscored = ev.Item(suite="arc", item_id="t", puzzle=puzzle)
    assert ev.score(unscored, ev.Outcome(grids=[other])) is None


def test_read_reply_counts_unreadable_answers_as_parse_failures():
    item = sudoku_item()
    good = ev.read_reply(item, "Here it is:\n" + SUDOKU.render(item.puzzle, item.solutions[0]))
    assert good.status == "ok" and ev.score(item, good) is True
    bad = ev.read_reply(item, "I cannot solve this.", tokens_out=5)
    assert bad.status == "parse_failure" and bad.tokens_out == 5 and bad.error


def test_prompts_that_do_not_fit_the_context_are_skipped():
    evaluator = ev.Evaluator(ev.Settings(context_tokens=300))
    skipped = evaluator.evaluate(sudoku_item(), "llm")  # never reaches the LLM
    assert skipped.status == "skipped" and skipped.correct is False
    assert "context" in skipped.error and skipped.prompt


# ---------------------------------------------------------------------------------------------
# Suites and user files


def test_suites_are_fixed_and_grow_by_prefix():
    assert [i.item_id for i in ev.SUITES["arc"](3)] == [i.item_id for i in ev.SUITES["arc"](3)]
    three = {i.item_id for i in ev.SUITES["arc2"](3)}
    assert three <= {i.item_id for i in ev.SUITES["arc2"](6)}
    mazes = ev.SUITES["maze"](2)
    assert [len(i.puzzle.grid) for i in mazes] == [30, 30]
    assert all(MAZE.verify(i.puzzle, i.solutions[0]) for i in mazes)


def test_load_file_jsonl_and_csv(tmp_path):
    (sudoku_puzzle, sudoku_solution), (maze_puzzle, _) = (
        held_out(SUDOKU, "hard", 1)[0],
        held_out(MAZE, "small", 1)[0],
    )
    lines = [
        {
            "kind": "sudoku",
            "puzzle": SUDOKU.question_text(sudoku_puzzle),
            "solution": SUDOKU.render(sudoku_puzzle, sudoku_solution),
        },
        {"kind": "auto", "puzzle": MAZE.question_text(maze_puzzle)},
    ]
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    items = ev.load_file(jsonl, limit=10)
    assert [(i.suite, i.puzzle.kind, len(i.solutions)) for i in items] == [
        ("mine", "sudoku", 1),
        ("mine", "maze", 0),
    ]
    assert items[0].solutions == [sudoku_solution]

    line = "".join(str(v) for row in sudoku_puzzle.grid for v in row)
    answer = "".join(str(v) for row in sudoku_solution for v in row)
    table = tmp_path / "extreme.csv"
    table.write_text(f"source,question,answer,rating\nx,{line},{answer},3\n")
    [item] = ev.load_file(table, limit=5)
    assert item.puzzle.kind == "sudoku" and item.solutions == [sudoku_solution]

    broken = tmp_path / "broken.jsonl"
    for bad in ('{"kind": "sudoku", "puzzle": "not a grid"}', "[1, 2]", '{"kind": "maze"}'):
        broken.write_text(f"\n{bad}\n")
        with pytest.raises(ev.PuzzleError, match="line 2"):
            ev.load_file(broken, limit=5)


# ---------------------------------------------------------------------------------------------
# Running and resuming (no LLM: the exact solver and a flaky stand-in condition)


def test_errors_are_recorded_and_resume_retries_only_them(tmp_path, monkeypatch):
    calls = []

    def flaky(evaluator, item):
        calls.append(item.item_id)
        if len(calls) == 1:
            raise ConnectionError("server hiccup")
        return ev.Outcome(grids=item.solutions, model="stand-in")

    monkeypatch.setitem(ev.CONDITIONS, "flaky", flaky)
    items = ev.load_items(["sudoku", "maze"], None, limit=2)
    conditions = ["solver", "flaky"]
    first = ev.run(ev.Settings(), items, conditions, tmp_path)
    assert len(first) == 8 and len((tmp_path / ev.RESULTS_FILE).read_text().splitlines()) == 8
    [failed] = [r for r in first if r.status == "error"]
    assert failed.error == "ConnectionError: server hiccup" and failed.correct is False
    assert all(r.correct for r in first if r.condition == "solver")

    with pytest.raises(SystemExit, match="--resume"):
        ev.run(ev.Settings(), items, conditions, tmp_path)

    with open(tmp_path / ev.RESULTS_FILE, "a") as out:
        out.write('{"suite": "cut sh')  # a line cut short by a crash
    resumed = ev.run(ev.Settings(), items, conditions, tmp_path, resume=True)
    assert calls == [items[0].item_id, *[i.item_id for i in items[1:]], failed.item_id]
    current = latest(resumed)
    assert len(current) == 8 and all(r.correct for r in current)
    lines = (tmp_path / ev.RESULTS_FILE).read_text().splitlines()
    assert len(lines) == 10 and json.loads(lines[-1])["status"] == "ok"


def test_main_writes_the_report_without_an_llm(tmp_path, capsys):
    markdown = ev.main(
        ["--suite", "sudoku,arc", "--limit", "2", "--conditions", "solver", "--out", str(tmp_path)]
    )
    assert "| solver | 100% [34%-100%] (n=2) | - |" in markdown
    assert markdown in capsys.readouterr().out
    cells = json.loads((tmp_path / "results.json").read_text())["cells"]
    assert [(c["suite"], c["accuracy"]) for c in cells] == [("sudoku", 1.0), ("arc", None)]
    assert (tmp_path / "accuracy.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "examples.png").exists()  # no LLM condition ran


# ---------------------------------------------------------------------------------------------
# The whole pipeline: real SmolLM2 (agents' local backend) and the real TRM pool


def test_every_suite_and_condition_end_to_end(tmp_path):
    """2 items of every suite under every condition. Answers are capped at 48 tokens and the
    context at 2048 so the test stays short: the LLM cannot solve anything at that length (it
    is not meant to); the LLM alone's prompts that do not fit are recorded as skipped, while
    the agent, whose LLM reads a stand-in for the puzzle, runs on every item; everything runs
    for real."""
    markdown = ev.main(
        ["--limit", "2", "--max-tokens", "48", "--context-tokens", "2048", "--out", str(tmp_path)]
    )
    records = [Record.model_validate_json(line) for line in open(tmp_path / ev.RESULTS_FILE)]
    suites, conditions = list(ev.SUITES), list(ev.CONDITIONS)
    assert len(records) == len(suites) * 2 * len(conditions)
    by: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        by.setdefault((r.suite, r.condition), []).append(r)
    assert set(by) == {(s, c) for s in suites for c in conditions}

    for suite in ("sudoku", "maze"):
        assert all(r.correct and r.status == "ok" for r in by[suite, "solver"])
        for r in by[suite, "llm"]:
            assert r.status in ("ok", "parse_failure") and r.tokens_out > 0 and r.prompt
            assert r.model.startswith("SmolLM2")
        for r in by[suite, "trm"]:
            assert r.status == "ok" or "No trained model" in r.error
    for r in by["sudoku", "llm+trm"]:
        assert r.status in ("ok", "parse_failure") and r.tokens_in > 0
        [call] = r.tool_calls
        assert call.name == "solve_sudoku" and call.forced and "puzzle" in call.args_used
        assert call.verified is not None and "Solution (sudoku)" in call.content
    for suite in ("arc", "arc2"):
        assert all(r.status == "n/a" and r.correct is None for r in by[suite, "solver"])
    llm_records = [r for r in records if r.condition in ("llm", "llm+trm")]
    assert not any(r.status == "skipped" for s in suites for r in by[s, "llm+trm"])
    long_prompts = [r for r in llm_records if r.condition == "llm" and len(r.prompt) > 2048]
    assert long_prompts and all(r.status == "skipped" for r in long_prompts)
    assert all(r.status != "error" for r in llm_records)
    assert any(r.suite.startswith("arc") and r.status != "skipped" for r in llm_records)

    assert "| condition | sudoku | maze | arc | arc2 |" in markdown
    assert "| solver | 100% [34%-100%] (n=2) | 100% [34%-100%] (n=2) | - | - |" in markdown
    assert (tmp_path / "results.md").read_text() == markdown
    cells = json.loads((tmp_path / "results.json").read_text())["cells"]
    assert len(cells) == len(suites) * len(conditions)
    [agent_cell] = [c for c in cells if c["condition"] == "llm+trm" and c["suite"] == "sudoku"]
    assert agent_cell["tool_call_rate"] == 1.0 and agent_cell["tokens_out_mean"] > 0
    for name in ("accuracy.png", "examples.png"):
        png = (tmp_path / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
