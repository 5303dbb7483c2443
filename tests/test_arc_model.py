"""ARC end to end on a tiny real TRM: per-task embeddings through training, checkpoint, solver
(known tasks recognised by their demonstrations) and test-time fitting of the whole network to
each task; and the shipped network fitted to a simple task."""

import random
import time

import pytest
import torch

from trm_tool import checkpoint
from trm_tool.data import held_out
from trm_tool.fitting import TURN_NAMES, FitConfig, FitReport, fit_task, input_transform
from trm_tool.model import TRMConfig
from trm_tool.puzzles import Grid, Puzzle
from trm_tool.puzzles.arc import KIND, operation_task, task_text
from trm_tool.puzzles.base import dihedral
from trm_tool.solver import Solver, load_solver
from trm_tool.tool import describe, fit_line, trm_tools
from trm_tool.train import TrainConfig, train


@pytest.fixture(scope="module")
def arc_checkpoint(tmp_path_factory):
    torch.set_num_threads(1)
    task_ids = KIND.training_task_ids("arc1")
    config = TrainConfig(
        kind="arc",
        tiers=["arc1"],
        model=TRMConfig(
            vocab_size=KIND.vocab_size,
            hidden=32,
            n_heads=2,
            expansion=1.0,
            n_latent_steps=1,
            n_improve_steps=1,
            max_supervision_steps=2,
            n_puzzles=len(task_ids),
            puzzle_prefix_len=1,
        ),
        batch_size=4,
        max_steps=6,
        time_budget_s=300,
        eval_every_s=1e9,
        eval_size=4,
        out=str(tmp_path_factory.mktemp("arc_run")),
    )
    return train(config)


def test_card_lists_the_task_of_every_embedding_row(arc_checkpoint):
    model, card = checkpoint.load(arc_checkpoint)
    assert card.task_ids == KIND.training_task_ids("arc1")
    assert model.puzzle_embed.num_embeddings == len(card.task_ids) == model.config.n_puzzles
    # the training run's held-out score is measured on evaluation test pairs
    assert card.held_out[0].n == 4 and len(held_out(KIND, "arc1", 4)) == 4


def test_a_known_task_pasted_as_text_starts_its_fit_from_its_trained_row(arc_checkpoint):
    model, card = checkpoint.load(arc_checkpoint)
    solver = Solver(KIND, model, card, torch.device("cpu"), fit=FitConfig(max_steps=2, views=2))
    puzzle, _ = KIND.evaluation_puzzles("arc1")[0]
    text = task_text(puzzle)  # plain text: no task id in it
    assert KIND.parse(text).task_id == puzzle.task_id
    result = solver.solve(text)
    task = solver.source.fitted[solver.source.key(KIND.parse(text))]
    assert result.fit.steps == 2 and result.views == 2 and 1 <= len(result.attempts) <= 2
    assert task.model is not model and task.model.puzzle_embed.num_embeddings == 2
    assert model.puzzle_embed.num_embeddings == len(card.task_ids)  # the shared table is kept
    unfitted = fit_task(model, KIND, puzzle, FitConfig(max_steps=0, views=2), row=7).model
    assert torch.equal(unfitted.puzzle_embed.weight[1], model.puzzle_embed.weight[7])


def test_an_unseen_task_is_fitted_once_and_the_cache_gives_the_same_answer(arc_checkpoint):
    model, card = checkpoint.load(arc_checkpoint)
    fit = FitConfig(max_steps=4, batch_size=2, check_every=2, views=2)
    solver = Solver(KIND, model, card, torch.device("cpu"), fit=fit)
    puzzle, _ = KIND.evaluation_puzzles("arc1")[0]
    unseen = puzzle.map_grids(lambda grid: [row[::-1] for row in grid])
    text = task_text(unseen)
    assert KIND.parse(text).task_id is None
    heard = []
    first = solver.solve(text, progress=heard.append)
    second = solver.solve(text, progress=heard.append)
    assert len(solver.source.fitted) == 1 and first.fit.steps == 4
    assert [p.step for p in heard] == [0, 2, 4]  # the second call fitted nothing
    assert second.grid == first.grid and second.attempts == first.attempts
    assert first.fit.demonstrations == len(unseen.examples)
    assert "demonstrations" in describe(first) and first.verified is None


def test_the_fit_stops_at_the_time_budget(arc_checkpoint):
    model, card = checkpoint.load(arc_checkpoint)
    solver = Solver(KIND, model, card, torch.device("cpu"), max_seconds=1.0)
    puzzle, _ = KIND.evaluation_puzzles("arc1")[5]
    start = time.perf_counter()
    result = solver.solve(task_text(puzzle))
    assert result.fit.stopped == "time budget" and result.fit.steps < FitConfig().max_steps
    assert time.perf_counter() - start < 1.0 + 5.0  # one step and the votes past the budget


def test_inputs_are_turned_by_the_transform_that_matches_their_outputs_best():
    rng = random.Random(1)
    grids = [[[rng.randrange(4) for _ in range(w)] for _ in range(h)] for h, w in [(3, 5), (4, 2)]]
    for turn in range(8):
        pairs = [(g, dihedral(g, turn)) for g in grids] + [(grids[0], grids[0])]
        assert input_transform(pairs) == turn  # the held-out last pair has no say
    edit = [(g, [[c or 5 for c in row] for row in g]) for g in grids]
    assert input_transform(edit) == 0  # outputs nearest the inputs as given
    square = [[1, 2], [3, 4]]
    symmetric = [([[1, 1], [1, 1]], [[2, 2], [2, 2]]), (square, square)]
    assert input_transform(symmetric) == 0  # a tie keeps the inputs as given


def test_each_turn_is_named_for_what_it_does():
    grid = [[1, 2, 3], [4, 5, 6]]
    does = {
        "as given": grid,
        "turned a quarter clockwise": [[4, 1], [5, 2], [6, 3]],
        "turned half round": [[6, 5, 4], [3, 2, 1]],
        "turned a quarter anticlockwise": [[3, 6], [2, 5], [1, 4]],
        "mirrored on the main diagonal": [[1, 4], [2, 5], [3, 6]],
        "flipped top to bottom": [[4, 5, 6], [1, 2, 3]],
        "mirrored on the anti-diagonal": [[6, 3], [5, 2], [4, 1]],
        "flipped left to right": [[3, 2, 1], [6, 5, 4]],
    }
    assert [dihedral(grid, turn) for turn in range(8)] == [does[name] for name in TURN_NAMES]
    report = FitReport(
        steps=0,
        seconds=1,
        demonstrations=3,
        reproduced=3,
        held_out_reproduced=True,
        stopped="held-out demonstration reproduced",
        input_transform=7,
        progress=[],
    )
    assert "inputs flipped left to right first" in fit_line(report)
    assert "first" not in fit_line(report.model_copy(update={"input_transform": 0}))


RULES = {
    "colour swap": lambda g: [[{1: 2, 2: 1}.get(c, c) for c in row] for row in g],
    "left-right flip": lambda g: [row[::-1] for row in g],
    "quarter turn and colour swap": lambda g: [
        [{1: 2, 2: 1}.get(c, c) for c in row] for row in zip(*g[::-1])
    ],
}


def simple_task(rule: str) -> tuple[Puzzle, Grid]:
    """A task whose rule is simple (RULES), on random grids of several sizes."""
    rng = random.Random(0)

    def grid(height: int, width: int) -> Grid:
        return [[rng.choice([0, 0, 0, 1, 2, 3, 4]) for _ in range(width)] for _ in range(height)]

    apply = RULES[rule]
    demos = [(g, apply(g)) for g in (grid(5, 5), grid(4, 6), grid(6, 4), grid(5, 5))]
    test = grid(5, 6)
    return Puzzle(kind="arc", grid=test, examples=demos), apply(test)


@pytest.mark.parametrize("rule", RULES)
def test_the_shipped_network_fits_a_simple_rule_from_its_demonstrations(rule):
    """The shipped ARC network, fitted to a task it never saw, reproduces the held-out
    demonstration before training on it, then answers the test input right, within the
    default budget."""
    torch.set_num_threads(1)
    solver = load_solver("arc")
    puzzle, expected = simple_task(rule)
    result = solver.solve(task_text(puzzle))
    assert result.fit.held_out_reproduced is True, result.fit
    assert result.fit.stopped == "held-out demonstration reproduced"
    assert result.fit.reproduced == result.fit.demonstrations == 4
    assert result.grid == expected


@pytest.mark.parametrize("operation", ["recolour-0", "recolour-3"])
def test_a_task_of_an_operation_the_shipped_network_learned_starts_from_its_row(operation):
    """The row search finds the learned row of the task's operation: the held-out
    demonstration is reproduced before any fitting, and the test input answered right."""
    torch.set_num_threads(1)
    solver = load_solver("arc")
    puzzle, expected = operation_task(random.Random(7), operation)
    result = solver.solve(task_text(puzzle))
    assert result.fit.steps == 0 and result.fit.held_out_reproduced is True, result.fit
    assert result.grid == expected


def test_the_tools_never_say_an_arc_answer_is_exact():
    """Sudoku and maze answers are checked; an ARC answer is a fitted guess, and every tool
    description says so."""
    tools = trm_tools()
    assert {tool.name for tool in tools} >= {"solve_grid_puzzle", "solve_arc"}
    for tool in tools:
        assert "puzzle exactly with" not in tool.description
        assert "ARC answers cannot be" in tool.description or "ARC answer cannot be" in (
            tool.description
        )
