"""Voting over the views' answers; the kind's exact check runs once per distinct answer."""

from __future__ import annotations

from ..puzzles import Grid, Puzzle, PuzzleKind
from .result import Candidate


class Checks:
    """The kind's exact check of one puzzle's answers, remembered: views that agree, and the
    same answer met again by the early stop, the retry rule, the vote and the result, are
    checked once."""

    def __init__(self, kind: PuzzleKind, puzzle: Puzzle):
        self.kind, self.puzzle = kind, puzzle
        self._verdicts: dict[str, bool | None] = {}

    def __call__(self, grid: Grid) -> bool | None:
        key = repr(grid)
        if key not in self._verdicts:
            self._verdicts[key] = self.kind.verify(self.puzzle, grid)
        return self._verdicts[key]

    def all_fail(self, candidates: list[Candidate]) -> bool:
        """Every answer fails the check (False, not None: some kinds cannot check)."""
        return all(self(c.grid) is False for c in candidates)


def vote(candidates: list[Candidate], check: Checks) -> tuple[list[Candidate], float]:
    """Rank distinct answers: verified ones first, then by how many of their views reproduce
    every demonstration (fitted tasks), then by how many views agree, then by summed halting
    confidence. Returns (the best candidate of each answer, ranked; vote share of the winner)."""
    tally: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        tally.setdefault(repr(candidate.grid), []).append(candidate)

    def rank(key: str) -> tuple:
        group = tally[key]
        consistent = sum(c.consistent for c in group)
        return (
            bool(check(group[0].grid)),
            consistent,
            len(group),
            sum(c.confidence for c in group),
        )

    ordered = sorted(tally, key=rank, reverse=True)
    winners = [max(tally[key], key=lambda c: c.confidence) for key in ordered]
    return winners, len(tally[ordered[0]]) / len(candidates)
