"""ARC end to end on a tiny real TRM: per-task embeddings through training, checkpoint, solver
(known tasks recognised by their demonstrations) and test-time fitting of unseen tasks."""

import pytest
import torch

from trm_tool import checkpoint
from trm_tool.data import held_out
from trm_tool.fitting import FitConfig, fit_task_vector
from trm_tool.model import TRMConfig
from trm_tool.puzzles.arc import KIND, task_text
from trm_tool.solver import Solver
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


def test_a_known_task_pasted_as_text_uses_its_trained_embedding(arc_checkpoint):
    model, card = checkpoint.load(arc_checkpoint)
    solver = Solver(KIND, model, card, torch.device("cpu"), views=2)
    puzzle, _ = KIND.evaluation_puzzles("arc1")[0]
    text = task_text(puzzle)  # plain text: no task id in it
    assert KIND.parse(text).task_id == puzzle.task_id
    result = solver.solve(text)
    assert solver.fit_stats == [] and result.views == 2
    assert 1 <= len(result.attempts) <= 2


def test_an_unseen_task_gets_a_fitted_embedding_once(arc_checkpoint):
    model, card = checkpoint.load(arc_checkpoint)
    fit = FitConfig(max_steps=4, batch_size=2)
    solver = Solver(KIND, model, card, torch.device("cpu"), views=1, fit=fit)
    puzzle, _ = KIND.evaluation_puzzles("arc1")[0]
    unseen = puzzle.map_grids(lambda grid: [row[::-1] for row in grid])
    text = task_text(unseen)
    assert KIND.parse(text).task_id is None
    solver.solve(text)
    solver.solve(text)
    assert len(solver.fit_stats) == 1 and solver.fit_stats[0]["steps"] == 4
    assert model.puzzle_embed.num_embeddings == len(card.task_ids) + 1


def test_fitting_lowers_the_loss_on_the_demonstrations(arc_checkpoint):
    model, _ = checkpoint.load(arc_checkpoint)
    puzzle, _ = KIND.evaluation_puzzles("arc1")[3]
    fit = FitConfig(max_steps=24, batch_size=8, lr=0.1)
    with torch.no_grad():  # as when called from inside an inference context
        _, stats = fit_task_vector(model, KIND, puzzle.examples, fit)
    assert stats["loss_after"] < stats["loss_before"]
    assert all(p.requires_grad for p in model.parameters())  # the network is left trainable
