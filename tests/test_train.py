"""The training loop learns: a tiny TRM masters a toy grid task within a minute on CPU."""

import json

import pytest
import torch

from trm_tool import checkpoint
from trm_tool.data import PuzzleStream, held_out
from trm_tool.model import TRM, TRMConfig
from trm_tool.puzzles import get_kind
from trm_tool.train import Slots, evaluate


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


def test_the_stream_draws_tiers_by_the_curriculum_and_examples_of_the_asked_tier():
    stream = PuzzleStream(get_kind("maze"), ["small", "large"], seed=0)
    assert {stream.choose_tier() for _ in range(50)} == {"small"}  # start: easiest tier only
    stream.progress = 0.9
    assert {stream.choose_tier() for _ in range(50)} == {"small", "large"}
    assert max(stream.next("small").tokens.shape) <= 12
    assert min(stream.next("large").tokens.shape) >= 21


def test_each_tier_trains_on_its_own_canvas():
    """Small mazes are not padded to the large tier's 30x30 canvas (4-10x the compute)."""
    kind = get_kind("maze")
    model = TRM(TRMConfig(vocab_size=kind.vocab_size, hidden=16, n_heads=2, mixer="conv"))
    stream = PuzzleStream(kind, ["small", "large"], seed=0, curriculum=False)
    small = Slots(model, stream, "small", 3, torch.device("cpu"))
    large = Slots(model, stream, "large", 3, torch.device("cpu"))
    assert small.tokens.shape == (3, 12, 12) and large.tokens.shape == (3, 30, 30)
    small.refill(torch.tensor([True, False, True]))
    assert small.tokens.shape == (3, 12, 12) and small.latent.shape == (3, 144, 16)


def test_a_pool_holds_puzzles_of_every_tier_it_trains():
    kind = get_kind("maze")
    stream = PuzzleStream(kind, ["small", "medium"], seed=0, curriculum=False, pool_size=2)
    assert max(stream.next("small").tokens.shape) <= 12
    assert min(stream.next("medium").tokens.shape) >= 13
    with pytest.raises(ValueError, match="cannot cover 2 tiers"):
        PuzzleStream(kind, ["small", "medium"], seed=0, pool_size=1)
