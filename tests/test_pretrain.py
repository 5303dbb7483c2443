"""Pretraining the network ARC tasks are fitted from: size-bucketed batches, a run that saves a
checkpoint the solver fits from, and a resumed run that carries on where it stopped."""

import json
import random

import torch

from trm_tool import checkpoint
from trm_tool.data import task_rows, training_task_ids
from trm_tool.pretrain import build_parser, config_from_args, draw_batches, pretrain
from trm_tool.puzzles.arc import KIND, operation_task, task_text
from trm_tool.solver import load_solver

TINY = ["--hidden", "16", "--n-heads", "1", "--expansion", "1", "--n-latent-steps", "1"]


def tiny_config(out, *extra: str):
    args = ["--tiers", "operations", *TINY, "--batch-tokens", "512", "--out", str(out), *extra]
    return config_from_args(build_parser().parse_args(args)).model_copy(update={"pool": 32})


def test_batches_group_grids_of_one_size_within_the_token_budget(tmp_path):
    config = tiny_config(tmp_path)
    rows = task_rows(training_task_ids(KIND, config.tiers))
    batches = draw_batches(KIND, rows, random.Random(0), config)
    assert sum(len(tokens) for tokens, _, _ in batches) == config.pool
    for tokens, labels, ids in batches:
        side = tokens.shape[1]
        assert tokens.shape == labels.shape == (len(ids), side, side)
        assert len(tokens) == 1 or len(tokens) * side * side <= config.batch_tokens
        edge = torch.cat([tokens[:, -1], tokens[:, :, -1], labels[:, -1], labels[:, :, -1]], 1)
        assert (edge > 0).any()  # cropped to the largest grid: its last row or column is used


def test_a_run_saves_a_checkpoint_the_solver_fits_from_and_resumes(tmp_path):
    torch.set_num_threads(1)
    path = pretrain(tiny_config(tmp_path, "--time-budget", "2s"))
    card = checkpoint.load_card(path)
    assert card.task_ids == KIND.training_task_ids("operations")
    assert card.config.edge_positions and card.training["optimizer_steps"] > 0
    first = json.loads((tmp_path / "resume.json").read_text())

    # the budget counts across resumes: 2 s more than the first run took (a pool can take
    # longer than 2 s on a busy machine)
    budget = f"{first['elapsed_s'] + 2.01:.2f}s"
    resume = str(tmp_path / "resume.safetensors")
    pretrain(tiny_config(tmp_path, "--time-budget", budget, "--resume", resume))
    second = json.loads((tmp_path / "resume.json").read_text())
    assert second["step"] > first["step"] and second["elapsed_s"] >= first["elapsed_s"] + 2
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2

    solver = load_solver("arc", checkpoint=path, max_seconds=3)
    puzzle, _ = operation_task(random.Random(1), "dihedral-4")
    result = solver.solve(task_text(puzzle))
    assert result.fit is not None and result.fit.steps > 0
