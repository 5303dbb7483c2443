"""A Solver from a checkpoint on a device."""

from __future__ import annotations

from pathlib import Path

from ..checkpoint import CheckpointError, load, resolve
from ..encodings import kind_for
from ..puzzles import get_kind
from ..trainer import resolve_device
from .facade import Solver
from .policy import RETRY_VIEWS


def load_solver(
    kind: str,
    checkpoint: str | Path | None = None,
    device: str = "auto",
    views: int = 8,
    max_steps: int | None = None,
    retry_views: int = RETRY_VIEWS,
    max_seconds: float | None = None,
) -> Solver:
    """A Solver for `kind` from the shipped checkpoint (or the file or directory at
    `checkpoint`, imported official ones included); `max_seconds` is the time budget per
    puzzle (default: the kind's, 0: none)."""
    path = resolve(kind, checkpoint)
    target = resolve_device(device)
    model, card = load(path, target)
    if card.kind != kind:
        raise CheckpointError(f"{path} is a {card.kind} checkpoint, not {kind}")
    puzzle_kind = kind_for(get_kind(kind), card.encoding, card.config)
    return Solver(
        puzzle_kind,
        model,
        card,
        target,
        views,
        max_steps,
        retry_views=retry_views,
        max_seconds=max_seconds,
    )
