"""The search for one batch of puzzles: rounds of views through their networks, then a vote.

    K views per puzzle (identity + random symmetries) -> one batched recursion per network,
    view-major, in slices -> each view's answer mapped back to the puzzle's frame -> vote (a
    candidate that verifies wins).

A puzzle none of whose views verifies (where the kind can check answers) gets another round
with fresh views (of the puzzle with the cells those views agree on most filled in, where the
kind can commit cells), and with a time budget, rounds until the budget is spent: misses are rare
on the puzzles a model knows, so the extra cost falls on few puzzles, and any view that
verifies is right. Views run view-major (every puzzle's first view before any second view),
so when the budget runs out each puzzle has an answer, the views still running stop after
their current supervision step, the views not started are skipped, and the result says so in
`cut_short`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import torch

from ..puzzles import Puzzle, PuzzleKind
from .networks import Network
from .policy import Deadline, SearchPolicy
from .result import Candidate, SolveResult
from .slices import run_rows
from .vote import Checks, vote


def search(
    kind: PuzzleKind,
    puzzles: list[Puzzle],
    networks: list[Network],
    policy: SearchPolicy,
    deadline: Deadline,
    per_pass: Callable[[tuple], int],
    start: float,
) -> list[SolveResult]:
    """Solve parsed puzzles on their networks; past `deadline` each one gets the best answer
    of the views that ran, and says so in `cut_short`."""
    puzzles = [network.aligned(p) for p, network in zip(puzzles, networks)]
    checks = [Checks(kind, puzzle) for puzzle in puzzles]
    views = [n.views(p, policy.views) for p, n in zip(puzzles, networks)]
    run = functools.partial(
        candidates, kind, max_steps=policy.max_steps, deadline=deadline, per_pass=per_pass
    )
    first_round = time.perf_counter()
    found, skipped = run(puzzles, networks, views, checks, needed=len(puzzles))
    most_steps = max((c.steps for cands in found for c in cands), default=1)
    step_seconds = (time.perf_counter() - first_round) / most_steps
    missed = [i for i, (check, c) in enumerate(zip(checks, found)) if check.all_fail(c)]
    seen = [set(puzzle_views) for puzzle_views in views]
    latest = list(found)
    rounds = 0
    while missed and policy.retry_views and another_round(rounds, deadline, step_seconds):
        rounds += 1
        for i in missed:
            puzzles[i] = committed(kind, puzzles[i], latest[i], policy.commit_share)
        fresh = {
            i: networks[i].fresh_views(puzzles[i], seen[i], rounds, policy.retry_views)
            for i in missed
        }
        missed = [i for i in missed if fresh[i]]  # a kind's symmetries can run out
        if not missed:
            break
        more, more_skipped = run(
            [puzzles[i] for i in missed],
            [networks[i] for i in missed],
            [fresh[i] for i in missed],
            [checks[i] for i in missed],
            needed=0,
        )
        for i, extra, extra_skipped in zip(missed, more, more_skipped):
            found[i] += extra
            latest[i] = extra
            skipped[i] += extra_skipped
        missed = [i for i in missed if checks[i].all_fail(found[i])]
    latency = (time.perf_counter() - start) * 1000
    budget = None if deadline.at is None else (deadline.at - start) / max(1, len(puzzles))
    out_of_time = not deadline.fits(step_seconds)
    results = []
    for i, network in enumerate(networks):
        steps = network.max_steps(policy.max_steps)
        note = cut_note(found[i], skipped[i], steps, budget, out_of_time and i in missed)
        results.append(result(kind, found[i], checks[i], latency, note, network))
    return results


def committed(kind: PuzzleKind, puzzle: Puzzle, failed: list[Candidate], share: float) -> Puzzle:
    """The puzzle a retry round solves: where the kind can commit, with some blanks filled from
    the last round's failed answers (`PuzzleKind.commit`); else the same puzzle. Answers are
    still checked against the caller's puzzle, so a wrong commit costs time, never a wrong
    verified answer."""
    if kind.commit is None or share == 0:
        return puzzle
    return kind.commit(puzzle, [(c.grid, c.confidence) for c in failed], share) or puzzle


def another_round(rounds: int, deadline: Deadline, step_seconds: float) -> bool:
    """Whether misses get another round of fresh views: one round without a time budget;
    with one, rounds while a step (as long as the first round's) still fits in it (an
    anytime search, since any view that verifies is right)."""
    if deadline.at is None:
        return rounds == 0
    return rounds == 0 or deadline.fits(step_seconds)


class EarlyStop:
    """Once a view's answer passes the exact check, its puzzle's views still running stop:
    those whose answer at that step passes too vote, the others do not."""

    def __init__(self, kind: PuzzleKind, flat: list[tuple[int, object]], checks: list[Checks]):
        self.kind, self.flat, self.checks = kind, flat, checks
        self.solved: set[int] = set()
        self.verifying: set[int] = set()
        self.dropped: set[int] = set()

    def settled(
        self, members: list[int], indices: list[int], answers: torch.Tensor | None
    ) -> list[bool]:
        """Which of these views (positions in `members`) need no more steps (or, without
        answers, no steps at all): their puzzle is solved, by one of them now or earlier."""
        now = set()
        for j, tokens in zip(indices, [] if answers is None else answers):
            p, view = self.flat[members[j]]
            if p not in self.solved and self.checks[p](view.invert(self.kind.decode(tokens))):
                now.add(p)
                self.verifying.add(members[j])
        self.solved.update(now)
        flags = [self.flat[members[j]][0] in self.solved for j in indices]
        self.dropped.update(members[j] for j, flag in zip(indices, flags) if flag)
        return flags

    def votes(self, i: int) -> bool:
        return i not in self.dropped or i in self.verifying


def candidates(
    kind: PuzzleKind,
    puzzles: list[Puzzle],
    networks: list[Network],
    views: list[list],
    checks: list[Checks],
    max_steps: int | None,
    deadline: Deadline,
    per_pass: Callable[[tuple], int],
    needed: int | None = None,
) -> tuple[list[list[Candidate]], list[int]]:
    """Every view of every puzzle, mapped back to the puzzle's own frame, and per puzzle the
    number of views the deadline skipped. Views run view-major, so every puzzle's first view
    runs before any puzzle's second; past the deadline only the first `needed` views (default:
    all) still run. Puzzles on the same network run in one batched recursion."""
    depth = max(len(puzzle_views) for puzzle_views in views)
    flat = [
        (p, puzzle_views[k])
        for k in range(depth)
        for p, puzzle_views in enumerate(views)
        if k < len(puzzle_views)
    ]
    needed = len(flat) if needed is None else needed
    out: list[list[Candidate]] = [[] for _ in views]
    skipped = [0] * len(views)
    stop = EarlyStop(kind, flat, checks)
    by_network: dict[int, list[int]] = {}
    for i, (p, _) in enumerate(flat):
        by_network.setdefault(id(networks[p]), []).append(i)
    for members in by_network.values():
        network = networks[flat[members[0]][0]]
        views_run = [flat[i] for i in members]
        answers = run_rows(
            network.model,
            [network.encode(view.apply(puzzles[p].grid)) for p, view in views_run],
            [network.row(view) for _, view in views_run],
            network.max_steps(max_steps),
            per_pass,
            deadline=deadline,
            needed=sum(i < needed for i in members),
            settled=functools.partial(stop.settled, members),
        )
        for i, answer in zip(members, answers):
            p, view = flat[i]
            if not stop.votes(i):
                continue
            if answer is None:
                skipped[p] += 1
                continue
            out[p].append(
                Candidate(
                    grid=view.invert(kind.decode(answer.tokens)),
                    confidence=answer.confidence,
                    steps=answer.steps,
                    cut=answer.cut,
                    consistent=network.consistent(puzzles[p], view),
                )
            )
    return out, skipped


def cut_note(
    candidates: list[Candidate],
    skipped: int,
    max_steps: int,
    budget: float | None,
    unverified_at_deadline: bool,
) -> str | None:
    """Why this puzzle's search was cut short by the time budget, or None if it was not:
    views skipped or stopped mid-recursion, or rounds of fresh views still failing."""
    stopped = sum(c.cut for c in candidates)
    if not (skipped or stopped or unverified_at_deadline):
        return None
    note = f"time budget of {budget:.2f} s per puzzle ran out after {len(candidates)} view(s)"
    if skipped:
        note += f", {skipped} more skipped"
    if stopped:
        note += f"; {stopped} stopped before halting or reaching {max_steps} steps"
    return note


def result(
    kind: PuzzleKind,
    candidates: list[Candidate],
    check: Checks,
    latency: float,
    cut_short: str | None = None,
    network: Network | None = None,
) -> SolveResult:
    """The vote's winner (and runner-up) as the answer to one puzzle."""
    ranked, share = vote(candidates, check)
    best, puzzle = ranked[0], check.puzzle
    return SolveResult(
        kind=kind.name,
        grid=best.grid,
        solution_text=kind.render(puzzle, best.grid),
        verified=check(best.grid),
        confidence=round(best.confidence * share, 4),
        steps=best.steps,
        latency_ms=round(latency, 2),
        views=len(candidates),
        attempts=[c.grid for c in ranked[:2]],
        attempt_texts=[kind.render(puzzle, c.grid) for c in ranked[:2]],
        cut_short=cut_short,
        fit=None if network is None else network.report,
    )
