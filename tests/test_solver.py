"""The solver engine on a really trained (toy) TRM: batching, voting, concurrency."""

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from trm_tool import checkpoint
from trm_tool.model import TRM
from trm_tool.puzzles import PuzzleError
from trm_tool.solver import Candidate, Checks, Solver, vote
from trm_tool.solver.search import result as vote_result
from trm_tool.solver.slices import run_rows
from trm_tool.solver.views import unseen_views, views_of


@pytest.fixture(scope="module")
def solver(toy_run):
    kind, path, _ = toy_run
    model, card = checkpoint.load(path)
    return Solver(kind, model, card, torch.device("cpu"), views=4)


def random_texts(kind, n, seed=0):
    rng = random.Random(seed)
    puzzles = [kind.generate(rng, "4x4") for _ in range(n)]
    return [kind.render(p, p.grid) for p, _ in puzzles], [s for _, s in puzzles]


def test_solve_and_solve_many_agree(solver):
    texts, solutions = random_texts(solver.kind, 12)
    many = solver.solve_many(texts)
    one_by_one = [solver.solve(t) for t in texts]
    assert [r.grid for r in many] == [r.grid for r in one_by_one]
    assert [r.grid for r in many] == solutions
    assert all(r.verified for r in many)


def test_voting_maps_every_view_back_to_the_original_frame(solver):
    texts, solutions = random_texts(solver.kind, 8, seed=1)
    for text, solution in zip(texts, solutions):
        result = solver.solve(text)
        assert result.views == 4
        assert result.grid == solution
        assert result.confidence > 0.5  # the views agree once mapped back


def test_vote_prefers_a_verified_candidate_over_a_majority(solver):
    kind = solver.kind
    puzzle, solution = kind.generate(random.Random(3), "4x4")
    wrong = [row[:] for row in solution]
    wrong[0][0] = (wrong[0][0] + 1) % 5
    candidates = [Candidate(grid=wrong, confidence=0.9, steps=1)] * 3
    candidates.append(Candidate(grid=solution, confidence=0.1, steps=1))
    ranked, share = vote(candidates, Checks(kind, puzzle))
    assert ranked[0].grid == solution and share == 0.25


def test_a_view_whose_answer_passes_the_check_stops_its_puzzle(solver):
    """The toy network with its halting head silenced would run every view for all 12 steps;
    it stops at the step its answers first pass the exact check, and those views vote."""
    never_halts = TRM(solver.model.config)
    never_halts.load_state_dict(solver.model.state_dict())
    torch.nn.init.constant_(never_halts.halt_head.bias, -100.0)
    cpu = torch.device("cpu")
    patient = Solver(solver.kind, never_halts, solver.card, cpu, 4, max_steps=12, max_seconds=0)
    texts, solutions = random_texts(solver.kind, 4, seed=9)
    for result, solution in zip(patient.solve_many(texts), solutions):
        assert result.verified and result.grid == solution
        assert result.steps < 12 and result.cut_short is None
        assert 1 <= result.views <= 4


def test_settled_rows_stop_and_no_others(solver):
    texts, _ = random_texts(solver.kind, 3, seed=10)
    encoded = [solver.kind.encode(solver.kind.parse(t).grid) for t in texts]
    model = TRM(solver.model.config).eval()  # untrained: never halts within 6 steps
    asked = []

    def second_after_two_steps(rows, answers):
        asked.append(rows)
        return [row == 1 and len(asked) == 3 for row in rows]  # the first ask is before step 1

    answers = run_rows(
        model, encoded, [0, 0, 0], 6, lambda shape: 8, settled=second_after_two_steps
    )
    assert [a.steps for a in answers] == [6, 2, 6]
    assert not any(a.cut for a in answers)
    assert asked[:4] == [[0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 2]]


def test_a_puzzle_no_view_verifies_gets_a_second_round_of_fresh_views(solver):
    (text,), _ = random_texts(solver.kind, 1, seed=4)
    assert solver.solve(text).views == 4  # right in the first round: no second one
    untrained = TRM(solver.model.config)  # wrong on every view, so nothing verifies
    retrying = Solver(solver.kind, untrained, solver.card, torch.device("cpu"), 2, retry_views=3)
    result = retrying.solve(text, max_seconds=0)  # no budget: exactly one more round
    assert result.views == 2 + 3 and result.verified is False
    never = Solver(solver.kind, untrained, solver.card, torch.device("cpu"), 2, retry_views=0)
    assert never.solve(text).views == 2


def test_a_spent_time_budget_still_answers_every_puzzle_and_says_why(solver):
    texts, _ = random_texts(solver.kind, 3, seed=5)
    untrained = TRM(solver.model.config)  # nothing verifies, so a full search is 4 + 3 views
    cpu = torch.device("cpu")
    hurried = Solver(
        solver.kind, untrained, solver.card, cpu, 4, retry_views=3, max_rows=1, max_seconds=1e-6
    )
    result = hurried.solve(texts[0])
    assert result.verified is False and result.views == 1 and result.steps == 1
    assert "after 1 view(s), 6 more skipped" in result.cut_short
    many = hurried.solve_many(texts)
    assert all(r.views >= 1 and r.cut_short for r in many)
    patient = Solver(solver.kind, untrained, solver.card, cpu, 4, retry_views=3, max_seconds=0)
    full = patient.solve(texts[0])
    assert full.views == 7 and full.cut_short is None
    assert hurried.solve(texts[0], max_seconds=0).views == 7


def test_a_miss_keeps_drawing_fresh_views_until_its_time_budget_is_spent(solver):
    (text,), _ = random_texts(solver.kind, 1, seed=6)
    untrained = TRM(solver.model.config)
    anytime = Solver(solver.kind, untrained, solver.card, torch.device("cpu"), 4, retry_views=3)
    result = anytime.solve(text, max_seconds=3)
    assert result.verified is False and result.views > 4 + 3 and result.cut_short
    assert 2900 <= result.latency_ms  # it ends when another step would not fit


def test_views_are_distinct_and_later_rounds_end_when_a_kind_runs_out_of_symmetries():
    from trm_tool.solver import load_solver

    mazes = load_solver("maze")
    puzzle = mazes.kind.parse("S..#\n.#..\n...G")
    first = views_of(mazes.kind, puzzle, 8)
    assert len(first) == 8 and len(set(first[1:])) == 7
    seen = set(first)
    more = unseen_views(mazes.kind, puzzle, seen, 1, 8)
    assert len(more) <= 1 and unseen_views(mazes.kind, puzzle, seen, 2, 8) == []


def test_bad_input_is_a_puzzle_error(solver):
    with pytest.raises(PuzzleError):
        solver.solve("12\n34")
    with pytest.raises(PuzzleError, match="Puzzle 2"):
        solver.solve_many(["0000\n0000\n0000\n0000", None])


def test_32_concurrent_calls_get_their_own_answers_in_merged_batches(solver):
    texts, solutions = random_texts(solver.kind, 32, seed=2)
    solver.batch_sizes.clear()
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(solver.solve, texts))
    assert [r.grid for r in results] == solutions
    assert max(solver.batch_sizes) > 1, "concurrent calls should share batches"


def test_slicing_a_merged_batch_into_forward_passes_does_not_change_answers(solver):
    texts, _ = random_texts(solver.kind, 10, seed=3)
    grids = [solver.kind.parse(t).grid for t in texts]
    sliced, whole = (
        Solver(solver.kind, solver.model, solver.card, solver.device, max_rows=rows).predict(
            grids, None
        )
        for rows in (3, 1000)
    )
    assert [(t.tolist(), s) for t, _, s, _ in sliced] == [(t.tolist(), s) for t, _, s, _ in whole]
    assert [c for _, c, _, _ in sliced] == pytest.approx([c for _, c, _, _ in whole], abs=1e-4)


def test_a_corrupted_answer_is_never_marked_verified(solver):
    from trm_tool.puzzles.sudoku import KIND as SUDOKU

    puzzle, solution = SUDOKU.generate(random.Random(5), "singles")
    check = Checks(SUDOKU, puzzle)
    for cell in range(0, 81, 7):
        corrupted = [row[:] for row in solution]
        r, c = divmod(cell, 9)
        corrupted[r][c] = corrupted[r][c] % 9 + 1
        result = vote_result(SUDOKU, [Candidate(grid=corrupted, confidence=1, steps=1)], check, 1)
        assert result.verified is False
    good = vote_result(SUDOKU, [Candidate(grid=solution, confidence=1, steps=1)], check, 1)
    assert good.verified is True


def test_each_call_may_ask_for_its_own_views_and_the_solver_keeps_its_policy(solver):
    texts, _ = random_texts(solver.kind, 6, seed=11)
    untrained = TRM(solver.model.config)  # nothing verifies: every view votes
    cpu = torch.device("cpu")
    shared = Solver(solver.kind, untrained, solver.card, cpu, 4, retry_views=0, max_seconds=0)
    asked = [1, 2, 3, 1, 2, 3]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda t, v: shared.solve(t, views=v), texts, asked))
    assert [r.views for r in results] == asked
    assert shared.solve(texts[0]).views == 4 and shared.policy.views == 4
    assert shared.solve(texts[0], retry_views=2).views == 4 + 2
    assert [r.views for r in shared.solve_many(texts[:2], views=2)] == [2, 2]
