"""The training loop learns: a tiny TRM masters a toy grid task within a minute on CPU."""

import json

import torch

from trm_tool import checkpoint
from trm_tool.data import held_out
from trm_tool.train import evaluate


def test_tiny_trm_learns_mirror_recolour_to_99_percent(toy_run):
    kind, path, out = toy_run
    model, card = checkpoint.load(path)
    assert card.held_out[0].exact >= 0.99
    # the saved model, re-evaluated independently, agrees with its card
    assert evaluate(model, kind, ["4x4"], 200, torch.device("cpu"))["4x4"]["exact"] >= 0.99
    assert len(held_out(kind, "4x4", 200)) == 200
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("samples_per_s" in row for row in rows) and "eval" in rows[-1]
    assert (out / "resume.safetensors").is_file()
    assert card.training["optimizer_steps"] == 700
