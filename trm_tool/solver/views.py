"""Test-time views: the symmetries of a puzzle each view solves, seeded so that the same
puzzle gets the same views alone or in any batch."""

from __future__ import annotations

import random

from ..puzzles import Puzzle, PuzzleKind
from ..puzzles.base import Identity, distinct_views


def views_of(kind: PuzzleKind, puzzle: Puzzle, count: int, seed: int = 0, round: int = 0) -> list:
    """Identity plus count-1 distinct random symmetries, or for a later round, count random
    ones (fewer where the kind has fewer). Seeded by the puzzle and round."""
    rng = random.Random(f"{seed}/{round}/{puzzle.grid}" if round else f"{seed}/{puzzle.grid}")
    return distinct_views(kind, rng, [] if round else [Identity()], count, 4 * count)


def unseen_views(
    kind: PuzzleKind, puzzle: Puzzle, seen: set, round: int, count: int, seed: int = 0
) -> list:
    """Up to `count` random symmetries of round `round` that are not in `seen` (added to it):
    a maze has only 8, so its rounds end once all have run."""
    fresh = []
    for view in views_of(kind, puzzle, 4 * count, seed, round):
        if view not in seen and len(fresh) < count:
            seen.add(view)
            fresh.append(view)
    return fresh
