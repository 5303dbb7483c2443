"""The test-time fit's stopping rule, progress reports and batch size, on the shipped ARC
network."""

import random

import pytest
import torch

from trm_tool import checkpoint
from trm_tool.fitting import FitConfig, FitProgress, batch_size, fit_task
from trm_tool.puzzles.arc import KIND, operation_task


@pytest.fixture(scope="module")
def shipped():
    torch.set_num_threads(1)
    model, _ = checkpoint.load(checkpoint.shipped("arc"))
    return model


def test_a_fit_with_nothing_held_out_stops_once_every_demonstration_stays_reproduced(shipped):
    """One demonstration: nothing to hold out. The row search finds the operation's learned
    row, so the pair is reproduced from step 0; the fit stops after `settled_checks` checks
    in a row instead of spending its whole budget."""
    puzzle, _ = operation_task(random.Random(7), "recolour-0", n_examples=1)
    config = FitConfig(max_steps=200, views=2, check_every=2)
    report = fit_task(shipped, KIND, puzzle, config).report
    assert report.held_out_reproduced is None and report.progress[0].reproduced == 1
    assert report.stopped == "every demonstration reproduced", report
    settled = report.progress[-config.settled_checks :]
    assert all(p.reproduced == 1 for p in settled) and report.steps < config.max_steps
    assert report.steps == (config.settled_checks - 1) * config.check_every  # from step 0


def test_a_fit_whose_demonstrations_are_not_reproduced_runs_its_step_budget(shipped):
    puzzle, _ = KIND.evaluation_puzzles("arc1")[15]  # a 10x10 task the network cannot map
    config = FitConfig(max_steps=4, views=2, check_every=2, row_search_share=0)
    report = fit_task(shipped, KIND, puzzle, config).report
    assert report.stopped == "step budget" and report.steps == 4
    assert report.reproduced < report.demonstrations


def test_progress_reports_no_loss_before_the_first_optimizer_step(shipped):
    puzzle, _ = KIND.evaluation_puzzles("arc1")[15]
    heard: list[FitProgress] = []
    config = FitConfig(max_steps=2, views=2, check_every=2, row_search_share=0)
    fit_task(shipped, KIND, puzzle, config, progress=heard.append)
    assert [p.step for p in heard] == [0, 2]
    assert heard[0].loss is None and "no step yet" in heard[0].summary()
    assert heard[1].loss > 0 and f"loss {heard[1].loss:.3f}" in heard[1].summary()
    assert "nan" not in heard[0].summary()


def test_a_big_canvas_draws_fewer_demonstrations_per_batch():
    config = FitConfig()
    assert batch_size(config, 11) == config.batch_size  # a 10x10 task: the full batch
    assert batch_size(config, 30) == config.cells_per_batch // 900 < config.batch_size
    assert batch_size(config.model_copy(update={"cells_per_batch": 1}), 30) == 1
    for side in (20, 30):
        assert batch_size(config, side) * side * side <= config.cells_per_batch
