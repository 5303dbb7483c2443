"""The training loop learns: a tiny TRM masters a toy grid task within a minute on CPU."""

import dataclasses
import json

import pytest
import torch

from trm_tool import checkpoint
from trm_tool.data import IGNORE, PuzzleStream, held_out
from trm_tool.model import TRM, TRMConfig
from trm_tool.puzzles import get_kind
from trm_tool.train import Process, Slots, TrainConfig, evaluate, start
from trm_tool.trainer import train_step


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


def test_the_loss_scores_answers_and_teaches_the_halting_head_when_they_are_exact():
    model = TRM(TRMConfig(vocab_size=4, hidden=8, n_heads=2))
    labels = torch.tensor([[1, 2, -100], [1, 2, 3]])
    logits = torch.nn.functional.one_hot(torch.tensor([[1, 2, 0], [1, 0, 3]]), 4).float() * 20
    halt_logit = torch.tensor([3.0, -3.0])
    loss = model.loss(logits, halt_logit, labels, halt_weight=0.5)
    assert loss.exact.tolist() == [True, False]  # ignored tokens do not count
    halting = torch.nn.functional.binary_cross_entropy_with_logits(
        halt_logit, torch.tensor([1.0, 0])
    )
    assert torch.isclose(loss.total, loss.answers + 0.5 * halting)
    # per example: the mean over its labelled tokens; the wrong token of example 2 costs ~20
    assert torch.isclose(loss.answers, torch.tensor(20 / 3 / 2), atol=1e-3)


def test_an_auxiliary_head_learns_the_kinds_target_beside_the_answer():
    """A maze model with aux_classes learns steps to the goal (mod 8) from its latent: the
    slots carry those labels, refills renew them, and training on them lowers their loss."""
    torch.manual_seed(0)
    kind = get_kind("maze")
    config = TRMConfig(vocab_size=kind.vocab_size, hidden=16, n_heads=2, mixer="conv")
    model = TRM(config.model_copy(update={"aux_classes": 8}))
    stream = PuzzleStream(kind, ["small"], seed=0, curriculum=False)
    slots = Slots(model, stream, "small", 4, torch.device("cpu"))
    assert slots.aux.shape == slots.tokens.shape
    goal = slots.tokens == 4
    assert (slots.aux[goal] == 0).all() and (slots.aux[slots.tokens == 1] == IGNORE).all()
    assert (slots.aux[slots.tokens == 0] == IGNORE).all()  # padding
    before = slots.aux.clone()
    slots.refill(torch.tensor([True, False, False, False]))
    assert torch.equal(slots.aux[1:], before[1:]) and not torch.equal(slots.aux[0], before[0])
    assert Slots(TRM(config), stream, "small", 2, torch.device("cpu")).aux is None

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    args = (model, optimizer, slots.tokens, slots.labels.flatten(1), slots.puzzle_ids)
    first = train_step(*args, aux_labels=slots.aux.flatten(1))
    assert model.aux_head.weight.grad is not None and first.loss.total.item() > 0
    for _ in range(60):
        last = train_step(*args, aux_labels=slots.aux.flatten(1))
    aux_part = lambda result: (result.loss.total - result.loss.answers).item()  # noqa: E731
    assert aux_part(last) < 0.7 * aux_part(first)


def test_init_from_a_checkpoint_gives_only_a_new_auxiliary_head_fresh_weights(tmp_path):
    shipped = "trm_tool/checkpoints/maze.safetensors"
    old, _ = checkpoint.load(shipped)
    process = Process(0, False, torch.device("cpu"))
    kind = get_kind("maze")

    def run(**change) -> TRM:
        model = old.config.model_copy(update=change)
        config = TrainConfig(kind="maze", model=model, init_from=shipped, out=str(tmp_path))
        return start(config, kind, process).state.model

    model = run(aux_classes=8)
    assert torch.equal(model.net.blocks[0].mlp.down.weight, old.net.blocks[0].mlp.down.weight)
    assert model.aux_head.weight.shape == (8, old.config.hidden)
    with pytest.raises(ValueError, match="does not fit this model"):
        run(edge_positions=True)
    wide = run(hidden=96)  # a narrower checkpoint is widened (tests/test_widen.py)
    assert wide.net.blocks[0].mlp.down.weight.shape[0] == 96
    assert torch.allclose(wide.lm_head.weight[:, :64], old.lm_head.weight / (96 / 64) ** 0.5)


def test_a_step_on_mazes_with_tied_routes_is_scored_against_the_route_the_model_leans_to():
    """Labels that mark every tied shortest route are narrowed, at each step, to the one route
    the step's logits favour (`PuzzleKind.nearest_target`), and the loss is taken against it."""
    from trm_tool.model import answer_loss

    torch.manual_seed(0)
    kind = get_kind("maze")
    model = TRM(TRMConfig(vocab_size=kind.vocab_size, hidden=16, n_heads=2, mixer="conv"))
    stream = PuzzleStream(kind, ["medium"], seed=1, curriculum=False)
    slots = Slots(model, stream, "medium", 8, torch.device("cpu"))
    seen = []

    def nearest(labels, logits):
        seen.append((logits.detach().clone(), kind.nearest_target(labels, logits)))
        return seen[-1][1]

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    union = slots.labels.flatten(1)
    result = train_step(model, optimizer, slots.tokens, union, slots.puzzle_ids, nearest=nearest)
    logits, chosen = seen[0]
    assert chosen.shape == slots.labels.shape and (chosen != slots.labels).any()  # ties narrowed
    flat = logits.flatten(1, 2)
    assert torch.isclose(result.loss.answers, answer_loss(flat, chosen.flatten(1), "softmax"))
    assert not torch.isclose(result.loss.answers, answer_loss(flat, union, "softmax"))


def test_a_stream_never_draws_a_left_out_family_and_refuses_unknown_or_all_families():
    kind = get_kind("maze")
    drawn: list[str | None] = []

    def recording(rng, tier):
        puzzle, solution = kind.generate(rng, tier)
        drawn.append(puzzle.family)
        return puzzle, solution

    recording_kind = dataclasses.replace(kind, generate=recording)
    stream = PuzzleStream(
        recording_kind, ["small"], seed=0, curriculum=False, leave_out=frozenset({"braided"})
    )
    examples = [stream.next("small") for _ in range(40)]
    assert set(drawn) == set(kind.families)  # braided mazes were generated ...
    assert len(examples) == len(drawn) - drawn.count("braided")  # ... and none was kept
    with pytest.raises(ValueError, match="families are .*perfect"):
        PuzzleStream(kind, ["small"], seed=0, leave_out=frozenset({"spiral"}))
    with pytest.raises(ValueError, match="at least one must stay"):
        PuzzleStream(kind, ["small"], seed=0, leave_out=frozenset(kind.families))
    with pytest.raises(ValueError, match="sudoku families are its tiers"):
        PuzzleStream(get_kind("sudoku"), ["easy"], seed=0, leave_out=frozenset({"easy"}))
