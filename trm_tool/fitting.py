"""Test-time fitting: a task embedding for an ARC task the model never trained on.

A TRM with per-task embeddings (ARC) only knows which transformation to apply through the
embedding row of the task. For a new task we learn a fresh row from the task's own
demonstration pairs, seen under random augmentations, with the network frozen: the same deep
supervision loss as training, optimised for a few dozen steps or a time budget. The row
starts at the mean of the trained rows (an "average task"), so no fitting at all is a
meaningful baseline.
"""

from __future__ import annotations

import random
import time

import torch
from pydantic import BaseModel

from .data import IGNORE, collate, to_example
from .model import TRM, answer_loss
from .puzzles import Grid, Puzzle, PuzzleKind


class FitConfig(BaseModel):
    max_steps: int = 32
    """Optimizer steps at most."""
    time_budget_s: float = 20.0
    batch_size: int = 8
    supervision_steps: int = 2
    """Deep supervision steps per sampled batch (carrying answer and latent), one optimizer
    step after each."""
    lr: float = 3e-2
    seed: int = 0


def demonstration_batch(
    kind: PuzzleKind, examples: list[tuple[Grid, Grid]], n: int, rng: random.Random | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """n examples cycled from the demonstration pairs, each under a random augmentation
    (none when rng is None) -> tokens, labels [n, H, W]."""
    drawn = []
    for i in range(n):
        inp, out = examples[i % len(examples)]
        if rng is not None:
            augmentation = kind.random_augmentation(rng)
            inp, out = augmentation.apply(inp), augmentation.apply(out)
        drawn.append(to_example(kind, Puzzle(kind=kind.name, grid=inp), out))
    canvas = tuple(max(e.tokens.shape[d] for e in drawn) for d in (0, 1))
    tokens, labels, _ = collate(drawn, canvas)
    return tokens, labels


def deep_supervision_losses(
    model: TRM, tokens: torch.Tensor, labels: torch.Tensor, vector: torch.Tensor, steps: int
):
    """Yield the answer loss after each of `steps` supervision steps (carrying the state)."""
    device = model.answer_init.device
    tokens, labels = tokens.to(device), labels.flatten(1).to(device)
    layout = model.layout(tokens.shape[1], tokens.shape[2], device)
    answer = latent = None
    for _ in range(steps):
        x = model.embed_question(tokens, task_vectors=vector.expand(len(tokens), -1))
        if answer is None:
            answer, latent = model.initial_state(x)
        answer, latent, logits, _ = model.supervision_step(x, answer, latent, layout)
        yield answer_loss(logits, labels, model.config.loss, IGNORE)


def demonstration_loss(
    model: TRM, kind: PuzzleKind, examples: list, vector: torch.Tensor, steps: int
) -> float:
    """Loss after `steps` supervision steps on the unaugmented demonstrations."""
    tokens, labels = demonstration_batch(kind, examples, len(examples), None)
    with torch.no_grad():
        *_, last = deep_supervision_losses(model, tokens, labels, vector, steps)
    return round(last.item(), 4)


@torch.enable_grad()
def fit_task_vector(
    model: TRM, kind: PuzzleKind, examples: list[tuple[Grid, Grid]], config: FitConfig
) -> tuple[torch.Tensor, dict]:
    """A [prefix * hidden] task vector fitted on `examples` with the network frozen; returns
    it with fit statistics (steps, seconds, demonstration loss before and after)."""
    vector = model.puzzle_embed.weight.detach().mean(0).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([vector], lr=config.lr)
    rng = random.Random(f"{config.seed}/{examples!r}")
    trainable = [p for p in model.parameters() if p.requires_grad]
    for p in trainable:
        p.requires_grad_(False)
    was_training = model.training
    model.eval()
    start, steps = time.perf_counter(), 0
    try:
        loss_before = demonstration_loss(model, kind, examples, vector, config.supervision_steps)
        while steps < config.max_steps and time.perf_counter() - start < config.time_budget_s:
            tokens, labels = demonstration_batch(kind, examples, config.batch_size, rng)
            for loss in deep_supervision_losses(
                model, tokens, labels, vector, config.supervision_steps
            ):
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                steps += 1
        loss_after = demonstration_loss(model, kind, examples, vector, config.supervision_steps)
    finally:
        for p in trainable:
            p.requires_grad_(True)
        model.train(was_training)
    stats = {
        "steps": steps,
        "seconds": round(time.perf_counter() - start, 2),
        "loss_before": loss_before,
        "loss_after": loss_after,
    }
    return vector.detach(), stats
