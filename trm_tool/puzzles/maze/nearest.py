"""The training label a maze model is scored against: of all shortest routes, the one its own
answer is nearest to.

A maze on open ground has thousands of tied shortest routes. Labelling one fixed route asks the
model for a tie-break it cannot see; labelling every cell of every route asks it to fill exact
diamonds of tied cells. Scoring each answer against the tied route it already leans towards
accepts any shortest route (what the exact check accepts) and still asks for one whole route.
The route is found by dynamic programming over the cells of the shortest routes, in the order
of their distance from S, on the batch at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .tokens import GOAL_TOKEN, OPEN_TOKEN, PATH_TOKEN, START_TOKEN


def nearest_route(labels: Tensor, logits: Tensor) -> Tensor:
    """`labels` [B, H, W] with every cell of every shortest route marked (`all_shortest_routes`)
    and the model's `logits` [B, H, W, V]: the labels with only the shortest route whose cells
    the logits favour most (the largest sum of log p(path) - log p(open)) left marked; the
    other routes' cells read open. Mazes without a route are returned unchanged."""
    log_probs = logits.detach().float().log_softmax(-1)
    on_route = labels == PATH_TOKEN
    gain = torch.where(on_route, log_probs[..., PATH_TOKEN] - log_probs[..., OPEN_TOKEN], 0.0)
    steps = steps_from_start(labels)
    best = _best_sums(steps, gain)
    chosen = _trace_back(labels, steps, best)
    return torch.where(on_route & ~chosen, OPEN_TOKEN, labels)


def steps_from_start(labels: Tensor) -> Tensor:
    """[B, H, W] steps from S through marked cells to each marked cell and G, -1 elsewhere. As
    every mark lies on a shortest route, these are the maze's own distances from S."""
    walkable = (labels == PATH_TOKEN) | (labels == GOAL_TOKEN)
    frontier = labels == START_TOKEN
    steps = torch.where(frontier, 0, -1)
    step = 0
    while frontier.any():
        step += 1
        frontier = _neighbours(frontier.to(torch.int8), 0).amax(0).bool() & walkable & (steps < 0)
        steps = torch.where(frontier, step, steps)
    return steps


def _best_sums(steps: Tensor, gain: Tensor) -> Tensor:
    """[B, H, W] the largest sum of `gain` over a shortest route from S to each cell (-inf off
    the routes), one distance layer at a time."""
    best = torch.where(steps == 0, 0.0, float("-inf"))
    for step in range(1, int(steps.max()) + 1):
        before = _neighbours(steps, -1) == step - 1
        reach = torch.where(before, _neighbours(best, float("-inf")), float("-inf")).amax(0)
        best = torch.where(steps == step, gain + reach, best)
    return best


def _trace_back(labels: Tensor, steps: Tensor, best: Tensor) -> Tensor:
    """[B, H, W] bool: the cells of the best route, followed back from G one step at a time
    to the neighbour one step nearer S with the largest sum."""
    batch, height, width = labels.shape
    row = width + 2
    flat_steps = F.pad(steps, (1, 1, 1, 1), value=-1).flatten(1)
    flat_best = F.pad(best, (1, 1, 1, 1), value=float("-inf")).flatten(1)
    goal = (labels == GOAL_TOKEN).flatten(1).to(torch.int8).argmax(1)
    at = (goal // width + 1) * row + goal % width + 1
    level = flat_steps.gather(1, at[:, None]).squeeze(1)
    offsets = torch.tensor([-row, row, -1, 1], device=labels.device)
    chosen = torch.zeros_like(flat_steps, dtype=torch.bool)
    for _ in range(int(level.max()) - 1):
        moving = level > 1
        near = at[:, None] + offsets
        sums = torch.where(
            flat_steps.gather(1, near) == (level - 1)[:, None],
            flat_best.gather(1, near),
            float("-inf"),
        )
        step_to = near.gather(1, sums.argmax(1, keepdim=True)).squeeze(1)
        at = torch.where(moving, step_to, at)
        level = torch.where(moving, level - 1, level)
        chosen[moving, at[moving]] = True
    return chosen.view(batch, height + 2, width + 2)[:, 1:-1, 1:-1]


def _neighbours(values: Tensor, fill: float) -> Tensor:
    """[4, B, H, W]: each cell's up, down, left and right neighbour's value (`fill` off the
    grid)."""
    padded = F.pad(values, (1, 1, 1, 1), value=fill)
    return torch.stack(
        [padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]]
    )
