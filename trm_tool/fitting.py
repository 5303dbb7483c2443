"""Test-time training: fit the whole network to one task from its demonstration pairs.

ARC has no exact solver and its rule is never stated; what a task gives is a few
demonstration pairs. A TRM trained on thousands of tasks could recognise a new task from a
fitted embedding alone, but a network trained on a CPU has learned too little for that, so we
fit every weight to the task instead (a copy of the network per task):

    turn the inputs: if one of the 8 dihedral transforms of the inputs matches the outputs
    cell for cell much better than the inputs as given (input_transform), every input, the test's
    too, is turned by it first, so a task that flips or rotates its input (and maybe edits
    it) leaves the network only the edit to learn; three demonstrations are too few to learn
    a mirror from, and a network pretrained on a CPU has not learned mirrors well
    -> copy the network, give it one task row per view: a view is one of K fixed dihedral x
    colour augmentations, and like the paper's per-augmentation puzzle ids it needs its own
    row, since a rule such as "mirror left-right" or "swap red and blue" reads differently in
    a rotated or recoloured frame. Each row starts from the task's learned row (a known task)
    or from the learned row that best maps the view's demonstrations already (closest_rows:
    the pretrained network has rows for flips, recolourings, upscales, ...; pretrain.py)
    -> train on the demonstrations under those views (trainer.deep_supervision: the loss
       and train step of training, a few supervision steps per batch)
    -> leave one out: the last demonstration is held out at first; the fitted network
       reproducing it exactly (and every other demonstration) is evidence that it learned
       the rule, not the pairs, and stops the fit early. If it is still not reproduced after
       `held_out_share` of the budget, it joins the training pairs for the rest. With
       nothing held out (one demonstration, or after it joined) the fit ends once every
       demonstration is reproduced at a few checks in a row (`settled_checks`).

The solver then predicts the test input under each view with the fitted copy and votes
(solver.py); answers of views that reproduce every demonstration under that view rank first.
"Reproduces every demonstration" is ARC's nearest thing to a check; it is not one.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import torch
from pydantic import BaseModel

from .data import IGNORE, collate, to_example
from .model import TRM, make_optimizer, token_loss
from .puzzles import Grid, Puzzle, PuzzleKind
from .puzzles.base import Identity, dihedral, distinct_views, grid_shape
from .trainer import deep_supervision, set_learning_rate

Pair = tuple[Grid, Grid]

CELLS_PER_PASS = 8192
"""Grid cells per forward pass of the row search."""


class FitConfig(BaseModel):
    """How one task is fitted; the time budget comes from the solve call (`max_seconds`)."""

    max_steps: int = 4000
    """Optimizer steps at most; 0: no fitting (the task's learned row, or the mean row)."""
    views: int = 8
    """Augmentations the task is fitted and predicted under (identity first), one row each."""
    start: Literal["checkpoint", "scratch"] = "checkpoint"
    """Fit the trained network, or a freshly initialised one shaped by `scratch`."""
    row_search_share: float = 0.1
    """Share of the budget spent choosing each view's starting row: the learned row that best
    maps the demonstrations already (0: start from the mean row). A known task always starts
    from its own row."""
    scratch: dict[str, int | float | str] = {
        "hidden": 64,
        "n_heads": 2,
        "expansion": 2.0,
        "n_latent_steps": 2,
        "n_improve_steps": 1,
    }
    """Changes to the trained network's configuration for a `scratch` start (smaller is more
    optimizer steps per second)."""
    batch_size: int = 16
    """Demonstrations (each under a random view) per batch on a small canvas."""
    cells_per_batch: int = 6144
    """Canvas cells per batch at most: a big canvas draws fewer demonstrations per batch
    (batch_size(side)), since attention costs grow with the square of the cells. On a 30x30
    task (ARC-AGI-1 05a7bcf2, one thread) 6 instead of 16 gave 4.5x the optimizer steps per
    second; a 10x10 task keeps all 16."""
    supervision_steps: int = 2
    """Supervision steps per batch (state carried, one optimizer step after each); the fitted
    network also predicts with this many steps."""
    lr: float = 1e-3
    embedding_lr: float = 1e-2
    weight_decay: float = 0.01
    warmup_steps: int = 10
    check_every: int = 40
    """Optimizer steps between checks of the demonstrations (and progress reports)."""
    held_out_share: float = 0.5
    """Share of the budget fitted with the last demonstration held out."""
    settled_checks: int = 3
    """With nothing held out (one demonstration, or the held-out one joined training): checks
    in a row at which every demonstration is reproduced that end the fit. More than one, so a
    network that reproduces the pairs by chance at first is still fitted a little; from then
    on more steps only polish pairs it already maps."""
    seed: int = 0


class FitProgress(BaseModel):
    """One progress report of a fit (also the callback's argument)."""

    step: int
    seconds: float
    loss: float | None
    """The last optimizer step's answer loss; None before the first step."""
    reproduced: int
    """Demonstrations the network reproduces exactly now."""
    demonstrations: int
    held_out: bool
    """Whether the last demonstration is still held out of training."""

    def summary(self) -> str:
        """One line for people watching the fit."""
        loss = "no step yet" if self.loss is None else f"loss {self.loss:.3f}"
        return (
            f"step {self.step}, {self.seconds:.1f} s, {loss}, "
            f"reproduces {self.reproduced} of {self.demonstrations} demonstrations"
        )


class FitReport(BaseModel):
    """What a fit did and how well the fitted network matches the task's demonstrations."""

    steps: int
    seconds: float
    demonstrations: int
    reproduced: int
    """Demonstrations the fitted network reproduces exactly (unaugmented)."""
    held_out_reproduced: bool | None
    """Whether the network reproduced the held-out demonstration before training on it (None:
    a task with one demonstration has nothing to hold out)."""
    stopped: str
    input_transform: int = 0
    """Dihedral transform (base.dihedral's index; 0: none) applied to every input before the
    fit, because it made the demonstration inputs match their outputs best."""
    progress: list[FitProgress]


@dataclass
class FittedTask:
    """A network fitted to one task; row k of its embedding table belongs to views[k]."""

    model: TRM
    views: list
    side: int
    """Square canvas the task runs on: the largest grid side of the task plus one."""
    report: FitReport

    def aligned(self, puzzle: Puzzle) -> Puzzle:
        """The puzzle as the network was fitted to it: inputs (the test's too) turned by the
        task's input transform, outputs as given."""
        return turn_inputs(puzzle, self.report.input_transform)


ProgressCallback = Callable[[FitProgress], None]


def task_side(kind: PuzzleKind, grids: list[Grid]) -> int:
    """Side of the square canvas that holds every encoded grid's non-padding tokens (any
    rotation of them), so a 10x10 task trains on 11x11, not the kind's full canvas."""
    side = 1
    for grid in grids:
        tokens = kind.encode(grid)
        used = (tokens != 0).nonzero()
        if len(used):
            side = max(side, int(used.max()) + 1)
    full = kind.encode(grids[0]).shape
    return min(side, *full)


def crop(tokens: torch.Tensor, side: int) -> torch.Tensor:
    return tokens[..., :side, :side]


def pair_batch(
    kind: PuzzleKind, pairs: list[Pair], side: int, augmentations: list
) -> tuple[torch.Tensor, torch.Tensor]:
    """pairs[i] under augmentations[i] -> tokens, labels [n, side, side]."""
    drawn = [
        to_example(kind, Puzzle(kind=kind.name, grid=aug.apply(inp)), aug.apply(out))
        for (inp, out), aug in zip(pairs, augmentations)
    ]
    tokens, labels, _ = collate(drawn, tuple(drawn[0].tokens.shape))
    return crop(tokens, side), crop(labels, side)


def reproduced(
    model: TRM, kind: PuzzleKind, pairs: list[Pair], side: int, steps: int, view=None, row=0
) -> list[bool]:
    """Whether the network (task row `row`) maps each demonstration input under `view` to its
    output under the view."""
    view = view or Identity()
    inputs = torch.stack([crop(kind.encode(view.apply(inp)), side) for inp, _ in pairs])
    ids = torch.full((len(pairs),), row, dtype=torch.long, device=model.answer_init.device)
    prediction = model.predict(inputs.to(ids.device), ids, steps, early_halting=False)
    return [
        view.invert(kind.decode(tokens)) == out
        for tokens, (_, out) in zip(prediction.tokens, pairs)
    ]


TURN_NAMES = (
    "as given",
    "turned a quarter clockwise",
    "turned half round",
    "turned a quarter anticlockwise",
    "mirrored on the main diagonal",
    "flipped top to bottom",
    "mirrored on the anti-diagonal",
    "flipped left to right",
)
"""What base.dihedral(grid, k) does to a grid, by k."""


def _matching_cells(pairs: list[Pair], turn: int) -> int:
    """Cells where the turned inputs equal their outputs (0 where some turned input's shape is
    not its output's)."""
    turned = [(dihedral(inp, turn), out) for inp, out in pairs]
    if any(grid_shape(inp) != grid_shape(out) for inp, out in turned):
        return 0
    return sum(a == b for inp, out in turned for r, s in zip(inp, out) for a, b in zip(r, s))


def input_transform(pairs: list[Pair]) -> int:
    """The dihedral transform of the inputs under which they match their outputs in the most
    cells, if it leaves at most half the cells that differ as given still differing (else 0:
    a chance match of a few more cells must not turn a task that edits its input in place).
    Chosen on the demonstrations the fit trains on first, never the held-out one."""
    chosen_on = pairs[:-1] if len(pairs) >= 2 else pairs
    cells = sum(len(out) * len(out[0]) for _, out in chosen_on if out)
    matches = [_matching_cells(chosen_on, turn) for turn in range(8)]
    best = max(range(8), key=lambda turn: (matches[turn], -turn))
    return best if cells - matches[best] <= (cells - matches[0]) / 2 else 0


def turn_inputs(puzzle: Puzzle, turn: int) -> Puzzle:
    """The puzzle with its inputs (the test's too) under dihedral transform `turn`."""
    return replace(
        puzzle,
        grid=dihedral(puzzle.grid, turn),
        examples=[(dihedral(inp, turn), out) for inp, out in puzzle.examples],
    )


def task_views(kind: PuzzleKind, pairs: list[Pair], count: int, seed: int) -> list:
    """Identity and count-1 distinct random augmentations, seeded by the task."""
    rng = random.Random(f"{seed}/{pairs!r}")
    return distinct_views(kind, rng, [Identity()], count, 8 * count)


@torch.no_grad()
def closest_rows(
    model: TRM, kind: PuzzleKind, pairs: list[Pair], views: list, deadline: float, seed: int
) -> list[int]:
    """Per view, the learned task row under which the network's first supervision step maps
    the demonstrations (under that view) to their outputs with the least loss. A new task like
    one the network trained on (a flip, a recolouring, a known rule) then starts its fit from
    that task's row, not from the average of all rows; under a rotated view a left-right flip
    is an up-down flip, so each view picks its own.

    Rows are scored in a seeded random order, a pass at a time, until `deadline` (a
    `time.perf_counter()` value): a search cut short keeps the best row it saw (at least one
    pass runs), and views not reached take the first view's row."""
    n_rows, device = model.config.n_puzzles, model.answer_init.device
    side = task_side(kind, [g for pair in pairs for g in pair])
    layout = model.layout(side, side, device)
    per_pass = max(1, CELLS_PER_PASS // (len(pairs) * side * side))
    order = torch.randperm(n_rows, generator=torch.Generator().manual_seed(seed))
    chosen: list[int] = []
    for view in views:
        tokens, labels = pair_batch(kind, pairs, side, [view] * len(pairs))
        labels = labels.flatten(1).to(device)
        best, best_loss = None, math.inf
        for first in range(0, n_rows, per_pass):
            if best is not None and time.perf_counter() >= deadline:
                break
            ids = order[first : first + per_pass]
            batch_ids = ids.repeat_interleave(len(pairs)).to(device)
            x = model.embed_question(tokens.repeat(len(ids), 1, 1).to(device), batch_ids)
            logits = model.supervision_step(x, *model.initial_state(x), layout).logits
            loss = token_loss(logits, labels.repeat(len(ids), 1), model.config.loss, IGNORE)
            per_row = loss.sum(-1).view(len(ids), len(pairs)).sum(-1)
            if float(per_row.min()) < best_loss:
                best_loss, best = float(per_row.min()), int(ids[per_row.argmin()])
        chosen.append(best)
        if time.perf_counter() >= deadline:
            break
    return chosen + chosen[:1] * (len(views) - len(chosen))


def starting_rows(
    model: TRM,
    kind: PuzzleKind,
    pairs: list[Pair],
    views: list,
    row: int | None,
    config: FitConfig,
    search_by: float,
) -> list[int] | None:
    """Learned rows the views' task rows start from: a known task's own row; else the closest
    rows, chosen on the demonstrations the fit trains on first (never the held-out one); None
    (the mean row) for a scratch start, a model without task rows or no search."""
    if row is not None:
        return [row] * len(views)
    if config.start == "scratch" or not model.config.n_puzzles or not config.row_search_share:
        return None
    chosen_on = pairs[:-1] if len(pairs) >= 2 else pairs
    return closest_rows(model, kind, chosen_on, views, search_by, config.seed)


def task_copy(model: TRM, start_rows: list[int] | None, n_views: int, config: FitConfig) -> TRM:
    """A copy of the network with a task table of one row per view, started from the given
    learned rows (or the mean of all rows; a freshly initialised network shaped by
    `config.scratch` for a scratch start)."""
    if config.start == "scratch":
        torch.manual_seed(config.seed)
        shape = model.config.model_copy(update=config.scratch | {"n_puzzles": n_views})
        return TRM(shape).to(model.answer_init.device)
    fitted = copy.deepcopy(model)
    if model.config.n_puzzles:
        table = model.puzzle_embed.weight.detach()
        rows = table[start_rows] if start_rows else table.mean(0)[None].repeat(n_views, 1)
        fitted.puzzle_embed = torch.nn.Embedding.from_pretrained(rows.clone(), freeze=False)
    return fitted


def aligned_task(model: TRM, kind: PuzzleKind, puzzle: Puzzle) -> tuple[int, list[Pair], int]:
    """The task as it is fitted: the input transform that explains its outputs best
    (input_transform), its demonstrations with their inputs turned by it, and the side of the
    square canvas it runs on (a fixed-canvas model's full canvas)."""
    turn = input_transform(puzzle.examples)
    puzzle = turn_inputs(puzzle, turn)
    pairs = list(puzzle.examples)
    side = task_side(kind, [puzzle.grid, *(g for pair in pairs for g in pair)])
    if model.config.grid_shape is not None:  # a fixed-canvas model reads its full canvas only
        side = max(kind.encode(puzzle.grid).shape)
    return turn, pairs, side


def batch_size(config: FitConfig, side: int) -> int:
    """Demonstrations per batch on a side x side canvas: `config.batch_size`, fewer where that
    would pass `config.cells_per_batch` (at least one)."""
    return max(1, min(config.batch_size, config.cells_per_batch // (side * side)))


def draw_batch(
    kind: PuzzleKind, pairs: list[Pair], views: list, side: int, rng: random.Random, size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`size` demonstrations drawn from `pairs`, each under a random view: tokens, labels and
    the views' task rows."""
    batch = [rng.choice(pairs) for _ in range(size)]
    rows = [rng.randrange(len(views)) for _ in batch]
    tokens, labels = pair_batch(kind, batch, side, [views[k] for k in rows])
    return tokens, labels, torch.tensor(rows)


@torch.enable_grad()
def fit_task(
    model: TRM,
    kind: PuzzleKind,
    puzzle: Puzzle,
    config: FitConfig,
    row: int | None = None,
    deadline: float | None = None,
    progress: ProgressCallback | None = None,
) -> FittedTask:
    """Fit a copy of `model` to the puzzle's demonstrations until every one is reproduced
    with the held-out one reproduced before it was trained on (with nothing held out: every
    one reproduced at `config.settled_checks` checks in a row), `config.max_steps`, or
    `deadline` (a `time.perf_counter()` value; None: no time limit)."""
    start = time.perf_counter()
    turn, pairs, side = aligned_task(model, kind, puzzle)
    row = None if turn else row  # a known task's row was learned on the inputs as given
    views = task_views(kind, pairs, config.views, config.seed)
    search_by = (
        math.inf if deadline is None else start + config.row_search_share * (deadline - start)
    )
    start_rows = starting_rows(model, kind, pairs, views, row, config, search_by)
    fitted = task_copy(model, start_rows, len(views), config)
    fit = Fit(fitted, kind, pairs, views, side, config, start, progress)
    stopped = fit.run(deadline)
    return FittedTask(fitted, views, side, fit.report(stopped, turn))


class Fit:
    """One fit in progress: the task's copy of the network, its optimizer and batches, the
    held-out demonstration, and every check's report."""

    def __init__(
        self,
        model: TRM,
        kind: PuzzleKind,
        pairs: list[Pair],
        views: list,
        side: int,
        config: FitConfig,
        start: float,
        progress: ProgressCallback | None,
    ):
        self.model, self.kind, self.pairs, self.views, self.side = model, kind, pairs, views, side
        self.config, self.start, self.progress = config, start, progress
        self.held_out = len(pairs) >= 2
        self.held_out_reproduced: bool | None = False if self.held_out else None
        self.optimizer = make_optimizer(model, config.lr, config.embedding_lr, config.weight_decay)
        self.rng = random.Random(f"{config.seed}/{pairs!r}")
        self.batch = batch_size(config, side)
        self.log: list[FitProgress] = []
        self.step, self.loss, self.settled = 0, None, 0

    def run(self, deadline: float | None) -> str:
        """Train and check until a stop rule holds; returns why it stopped."""
        config, start = self.config, self.start
        switch_at = None if deadline is None else start + config.held_out_share * (deadline - start)
        switch_step = int(config.held_out_share * config.max_steps)
        self.model.train()
        while True:
            if self.step % config.check_every < config.supervision_steps:  # step 0 too: a
                stopped = self.check()  # start row may already fit
                if stopped:
                    return stopped
                late = switch_at is not None and time.perf_counter() >= switch_at
                if self.held_out and (late or self.step >= switch_step):
                    self.held_out = False
            if self.step >= config.max_steps:
                return "step budget"
            if deadline is not None and time.perf_counter() >= deadline:
                return "time budget"
            self.train_step()

    def check(self) -> str | None:
        """Which demonstrations the network reproduces now, reported; the reason to stop, if
        this check gives one."""
        self.model.eval()
        with torch.no_grad():
            ok = reproduced(
                self.model, self.kind, self.pairs, self.side, self.config.supervision_steps
            )
        self.model.train()
        report = FitProgress(
            step=self.step,
            seconds=round(time.perf_counter() - self.start, 2),
            loss=None if self.loss is None else round(self.loss, 4),
            reproduced=sum(ok),
            demonstrations=len(self.pairs),
            held_out=self.held_out,
        )
        self.log.append(report)
        if self.progress is not None:
            self.progress(report)
        if self.held_out and all(ok):
            self.held_out_reproduced = True
            return "held-out demonstration reproduced"
        self.settled = self.settled + 1 if all(ok) and not self.held_out else 0
        if self.settled >= self.config.settled_checks:
            return "every demonstration reproduced"
        return None

    def train_step(self) -> None:
        """One batch of demonstrations (the held-out one aside) under random views."""
        training = self.pairs[:-1] if self.held_out else self.pairs
        tokens, labels, rows = draw_batch(
            self.kind, training, self.views, self.side, self.rng, self.batch
        )
        set_learning_rate(self.optimizer, min(1.0, (self.step + 1) / self.config.warmup_steps))
        steps = self.config.supervision_steps
        self.loss, _ = deep_supervision(self.model, self.optimizer, tokens, labels, rows, steps)
        self.step += steps

    def report(self, stopped: str, turn: int) -> FitReport:
        """The fit's report, after a last check if the last step was not checked."""
        if not self.log or self.log[-1].step != self.step:
            self.check()
        self.model.eval()
        return FitReport(
            steps=self.step,
            seconds=round(time.perf_counter() - self.start, 2),
            demonstrations=len(self.pairs),
            reproduced=self.log[-1].reproduced,
            held_out_reproduced=self.held_out_reproduced,
            stopped=stopped,
            input_transform=turn,
            progress=self.log,
        )
