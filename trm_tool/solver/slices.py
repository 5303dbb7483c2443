"""Running grids through a network in slices: grouped by encoded shape, at most a slice of
rows per forward pass, each slice stepped one supervision step at a time (`TRM.steps`) until
its rows halt, spend their steps, run out of time, or are settled by the caller."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NamedTuple

import torch

from ..model import TRM, Prediction
from ..precision import autocast
from .policy import Deadline

CPU_MAX_ROWS, GPU_MAX_ROWS = 16, 8192
"""Views per forward pass by device (see `rows_per_pass`)."""
CPU_SLICE_CELLS = 2048
"""Grid cells per forward pass on a CPU, where a view's cost is flat in the batch size (30x30
maze, shipped model, 8 steps: 178 ms a view alone, 226 ms in 8): big grids run two views at a
time, so the first views finish early and one that verifies ends the search sooner."""

Settled = Callable[[list[int], torch.Tensor | None], list[bool]]
"""(row indices, their answers after a step, or None before the first) -> which of those rows
need no more steps (their puzzle is solved)."""


class RowAnswer(NamedTuple):
    tokens: torch.Tensor
    confidence: float
    steps: int
    cut: bool
    """Stopped by the deadline before halting or spending its steps."""


def rows_per_pass(device: torch.device, max_rows: int, shape: tuple[int, ...]) -> int:
    """Rows of this encoded shape per forward pass. A GPU wants them all at once, while a CPU
    is compute-bound and slower per row in big batches (measured with the earlier attention
    Sudoku model on one busy thread, all steps: 10.1 rows/s at 8 rows, 6.6 at 512), so there a
    slice also holds at most `CPU_SLICE_CELLS` grid cells."""
    if device.type != "cpu":
        return max_rows
    return max(1, min(max_rows, CPU_SLICE_CELLS // math.prod(shape)))


def slices(encoded: list[torch.Tensor], per_pass: Callable[[tuple], int]) -> list[list[int]]:
    """Row indices grouped by shape and cut into passes, in order of their first row."""
    by_shape: dict[tuple, list[int]] = {}
    for i, tokens in enumerate(encoded):
        by_shape.setdefault(tuple(tokens.shape), []).append(i)
    return sorted(
        (
            rows[start : start + per_pass(shape)]
            for shape, rows in by_shape.items()
            for start in range(0, len(rows), per_pass(shape))
        ),
        key=min,
    )


@torch.no_grad()
def run_rows(
    model: TRM,
    encoded: list[torch.Tensor],
    ids: list[int],
    max_steps: int,
    per_pass: Callable[[tuple], int],
    early_halting: bool = True,
    deadline: Deadline = Deadline(),
    needed: int | None = None,
    settled: Settled | None = None,
) -> list[RowAnswer | None]:
    """Encoded grids (with their embedding rows) through `model`, slice by slice, in order.

    Past `deadline`, slices that hold none of the first `needed` rows (default: all of them)
    are skipped (None), and running ones stop after their current step, as they do when
    another step as long as the last would end past it. `settled` stops rows early, or skips
    a slice, without counting them as cut."""
    needed = len(encoded) if needed is None else needed
    device = model.answer_init.device
    out: list[RowAnswer | None] = [None] * len(encoded)
    for index in slices(encoded, per_pass):
        if (deadline.expired() and min(index) >= needed) or (settled and all(settled(index, None))):
            continue
        batch = torch.stack([encoded[i] for i in index]).to(device)
        prediction, stopped = Prediction.empty(batch), set()
        step_start = time.perf_counter()
        with autocast(device):
            for step in model.steps(batch, torch.tensor([ids[i] for i in index], device=device)):
                now = time.perf_counter()
                out_of_time = not deadline.fits(now - step_start)
                step_start = now
                halted = (step.halt_logit > 0) & early_halting
                done = halted | (step.number == max_steps) | out_of_time
                if settled is not None and not bool(done.all()):
                    done = done | _settle(settled, index, step.active, step.tokens, stopped)
                prediction.record(step, done)
                step.stop(done)
        tokens, conf, steps, halt = (
            t.cpu()
            for t in (
                prediction.tokens,
                prediction.confidence,
                prediction.steps,
                prediction.halt_logit,
            )
        )
        for row, i in enumerate(index):
            halted = early_halting and halt[row] > 0
            cut = int(steps[row]) < max_steps and not halted and i not in stopped
            out[i] = RowAnswer(tokens[row], float(conf[row]), int(steps[row]), cut)
    return out


def _settle(
    settled: Settled, index: list[int], active: torch.Tensor, answers: torch.Tensor, stopped: set
) -> torch.Tensor:
    """`settled` for a slice's running rows (batch positions `active`), recording in `stopped`
    the rows it stops."""
    rows = [index[position] for position in active.tolist()]
    flags = settled(rows, answers.cpu())
    stopped.update(row for row, flag in zip(rows, flags) if flag)
    return torch.tensor(flags, dtype=torch.bool, device=answers.device)
