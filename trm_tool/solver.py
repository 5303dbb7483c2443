"""The inference engine: text in, verified solution text out.

    parse -> K views (identity + random symmetries) -> one batched TRM recursion with
    per-example early halting -> decode, map each view back to the original frame -> vote
    (a candidate that verifies wins) -> render in the user's own format.

A puzzle none of whose views verifies (where the kind can check answers) gets another round
with more, fresh views, and with a time budget, rounds until the budget is spent: misses are
rare on the puzzles a model knows, so the extra cost falls on few puzzles, and any view that
verifies is right.

Every call has a time budget (`max_seconds` per puzzle): views run view-major (every puzzle's
first view before any second view), so when the budget runs out each puzzle has an answer, the
views still running stop after their current supervision step, the views not started are
skipped, and the result says so in `cut_short`.

Every puzzle kind goes through the same path; all kind-specific work happens in the kind.
"""

from __future__ import annotations

import functools
import math
import queue
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from pydantic import BaseModel, Field

from .checkpoint import CheckpointError, ModelCard, load, resolve
from .data import task_rows
from .fitting import FitConfig, FitReport, FittedTask, ProgressCallback, crop, fit_task, reproduced
from .model import TRM
from .official import official_kind
from .puzzles import Grid, Puzzle, PuzzleError, PuzzleKind, get_kind
from .puzzles.base import Identity

RETRY_VIEWS = 8
"""Default fresh views per retry round for puzzles none of whose views verify."""
CPU_MAX_ROWS, GPU_MAX_ROWS = 16, 8192
"""Views per forward pass by device (see `Solver`)."""
CPU_SLICE_CELLS = 2048
"""Grid cells per forward pass on a CPU, where a view's cost is flat in the batch size (30x30
maze, shipped model, 8 steps: 178 ms a view alone, 226 ms in 8): big grids run two views at a
time, so the first views finish early and one that verifies ends the search sooner."""
FIT_SHARE = 0.8
"""Share of a task's time budget its fit may spend; the rest predicts and votes."""
FITTED_CACHE = 32
"""Fitted networks kept (least recently used dropped): asking again costs no fit."""
MAX_SECONDS = 2.0
"""Default time budget per puzzle of one call; a kind may set its own (`default_max_seconds`).
About what a user waits for one tool call; 0 or None: no budget."""


class SolveResult(BaseModel):
    """What one solve returns; also the tool's artifact and the HTTP response body."""

    kind: str
    grid: Grid = Field(description="solution in the kind's meaning codes (DESIGN.md)")
    solution_text: str = Field(description="solution written in the input's own format")
    verified: bool | None = Field(description="exact check passed; None where none exists")
    confidence: float = Field(description="halting confidence x share of views that agree")
    steps: int = Field(description="supervision steps the winning view ran")
    latency_ms: float
    views: int = Field(description="augmented views voted over")
    attempts: list[Grid] = Field(default_factory=list, description="the two best answers")
    attempt_texts: list[str] = Field(default_factory=list, description="attempts as text")
    cut_short: str | None = Field(
        default=None, description="why the search stopped before all its views and steps ran"
    )
    fit: FitReport | None = Field(
        default=None,
        description="test-time fit of the network to the task's demonstrations (ARC): how "
        "many it reproduces, how long it took, its progress reports",
    )


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Candidate(BaseModel):
    grid: Grid
    confidence: float
    steps: int
    cut: bool = False
    """Stopped by the time budget before halting or spending its step budget."""
    consistent: bool = False
    """The network of this view reproduces every demonstration under the view (fitted
    tasks only)."""


def vote(kind: PuzzleKind, puzzle: Puzzle, candidates: list[Candidate]) -> tuple[list, float]:
    """Rank distinct answers: verified ones first, then by how many of their views reproduce
    every demonstration (fitted tasks), then by how many views agree, then by summed halting
    confidence. Returns (ranked candidates, vote share of the winner)."""
    tally: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        tally.setdefault(repr(candidate.grid), []).append(candidate)
    verified = {key: kind.verify(puzzle, group[0].grid) for key, group in tally.items()}

    def rank(key: str) -> tuple:
        group = tally[key]
        consistent = sum(c.consistent for c in group)
        return (bool(verified[key]), consistent, len(group), sum(c.confidence for c in group))

    ordered = sorted(tally, key=rank, reverse=True)
    winners = [max(tally[key], key=lambda c: c.confidence) for key in ordered]
    return winners, len(tally[ordered[0]]) / len(candidates)


@dataclass
class _Request:
    """One queued `solve` call, waiting for the batching worker to fill in its result."""

    puzzle: Puzzle
    max_steps: int | None
    start: float
    deadline: float | None
    done: threading.Event = field(default_factory=threading.Event)
    result: SolveResult | None = None
    error: BaseException | None = None


class Solver:
    """A trained TRM for one puzzle kind.

    Thread-safe. Concurrent `solve` calls are merged by a background worker into one batched
    recursion (dynamic batching): it takes whatever requests are waiting, up to `max_batch`,
    after at most `batch_wait_ms`, so N concurrent tool calls cost about one batched forward.
    That batch runs in slices of at most `max_rows` views: a GPU wants them all at once, while
    a CPU is compute-bound and slower per row in big batches (measured with the earlier
    attention Sudoku model on one busy thread, all steps: 10.1 rows/s at 8 rows, 6.6 at 512),
    so there a slice also holds at most `CPU_SLICE_CELLS` grid cells.
    """

    def __init__(
        self,
        kind: PuzzleKind,
        model: TRM,
        card: ModelCard,
        device: torch.device,
        views: int = 8,
        max_steps: int | None = None,
        seed: int = 0,
        max_batch: int = 64,
        batch_wait_ms: float = 5.0,
        fit: FitConfig | None = None,
        retry_views: int = RETRY_VIEWS,
        max_rows: int | None = None,
        max_seconds: float | None = None,
    ):
        self.kind, self.model, self.card, self.device = kind, model.to(device).eval(), card, device
        self.views, self.max_steps, self.seed = max(1, views), max_steps, seed
        self.retry_views = max(0, retry_views)
        """Fresh views per retry round on puzzles whose views all fail the check (0: no
        retries)."""
        self.max_batch, self.batch_wait_s = max_batch, batch_wait_ms / 1000
        self.max_rows = max_rows or (CPU_MAX_ROWS if device.type == "cpu" else GPU_MAX_ROWS)
        default_budget = getattr(kind, "default_max_seconds", MAX_SECONDS)
        self.max_seconds = default_budget if max_seconds is None else max_seconds
        """Time budget per puzzle of a call, in seconds (0: none)."""
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self.batch_sizes: list[int] = []
        """Sizes of the batches the worker ran (for metrics)."""
        self.rows = task_rows(card.task_ids)
        """Task id -> learned embedding row."""
        self.fit = fit or FitConfig()
        self.fitted: OrderedDict[str, FittedTask] = OrderedDict()
        """Networks fitted to tasks (models with task embeddings), by task."""
        self._fit_lock = threading.Lock()

    def solve(
        self,
        text: str,
        max_steps: int | None = None,
        max_seconds: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> SolveResult:
        """Solve one puzzle given as text within `max_seconds` (default: the solver's budget);
        PuzzleError on bad input. Concurrent calls from several threads are batched together.
        `progress` hears from a test-time fit (models with task embeddings: ARC)."""
        puzzle, start = self.kind.parse(text), time.perf_counter()
        deadline = self.deadline(start, 1, max_seconds)
        self.prepare([puzzle], deadline, progress)
        request = _Request(puzzle, max_steps, start, deadline)
        self._ensure_worker()
        self._queue.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.result

    def _ensure_worker(self) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, daemon=True)
                self._worker.start()

    def _serve(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.perf_counter() + self.batch_wait_s
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.perf_counter())))
                except queue.Empty:
                    break
            self.batch_sizes.append(len(batch))
            for max_steps in {r.max_steps for r in batch}:
                group = [r for r in batch if r.max_steps == max_steps]
                deadlines = [r.deadline for r in group if r.deadline is not None]
                deadline = min(deadlines) if deadlines else None
                try:
                    puzzles = [r.puzzle for r in group]
                    start = min(r.start for r in group)
                    results = self.solve_puzzles(puzzles, max_steps, start, deadline)
                except Exception as err:  # reported to every waiting caller, worker lives on
                    for r in group:
                        r.error = err
                        r.done.set()
                    continue
                for r, result in zip(group, results):
                    latency = round((time.perf_counter() - r.start) * 1000, 2)
                    r.result = result.model_copy(update={"latency_ms": latency})
                    r.done.set()

    def solve_many(
        self,
        texts: list[str],
        max_steps: int | None = None,
        max_seconds: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SolveResult]:
        """Solve several puzzles in one batched recursion; same results as one by one. The
        time budget is `max_seconds` (default: the solver's) per puzzle, for the whole call."""
        if not isinstance(texts, list | tuple):
            raise PuzzleError(f"Expected a list of puzzle texts, got {type(texts).__name__}.")
        start = time.perf_counter()
        puzzles = []
        for index, text in enumerate(texts):
            try:
                puzzles.append(self.kind.parse(text))
            except PuzzleError as err:
                prefix = f"Puzzle {index + 1}: " if len(texts) > 1 else ""
                raise PuzzleError(prefix + str(err)) from None
        deadline = self.deadline(start, len(puzzles), max_seconds)
        self.prepare(puzzles, deadline, progress)
        return self.solve_puzzles(puzzles, max_steps, start, deadline)

    def deadline(self, start: float, n_puzzles: int, max_seconds: float | None) -> float | None:
        """The `time.perf_counter()` value a call of n puzzles must finish by (None: no budget)."""
        budget = self.max_seconds if max_seconds is None else max_seconds
        return start + budget * n_puzzles if budget and budget > 0 else None

    def solve_puzzles(
        self,
        puzzles: list[Puzzle],
        max_steps: int | None = None,
        start: float | None = None,
        deadline: float | None = None,
    ) -> list[SolveResult]:
        """Solve parsed puzzles; past `deadline` (a `time.perf_counter()` value) each one gets
        the best answer of the views that ran, and says so in `cut_short`."""
        start = start or time.perf_counter()
        tasks = self.prepare(puzzles, deadline)
        puzzles = [p if t is None else t.aligned(p) for p, t in zip(puzzles, tasks)]
        max_steps = max_steps or self.max_steps
        views = [
            self.views_of(puzzle) if task is None else list(task.views)
            for puzzle, task in zip(puzzles, tasks)
        ]
        first_round = time.perf_counter()
        candidates, skipped = self.candidates(
            puzzles, views, max_steps, deadline, len(puzzles), tasks
        )
        most_steps = max((c.steps for cands in candidates for c in cands), default=1)
        step_seconds = (time.perf_counter() - first_round) / most_steps
        missed = [i for i, (p, c) in enumerate(zip(puzzles, candidates)) if self._all_fail(p, c)]
        seen = [set(puzzle_views) for puzzle_views in views]
        rounds = 0
        while missed and self.retry_views and self._another_round(rounds, deadline, step_seconds):
            rounds += 1
            fresh = {i: self.unseen_views(puzzles[i], seen[i], rounds) for i in missed}
            missed = [i for i in missed if fresh[i]]  # a kind's symmetries can run out
            if not missed:
                break
            again = [puzzles[i] for i in missed]
            more, more_skipped = self.candidates(
                again,
                [fresh[i] for i in missed],
                max_steps,
                deadline,
                0,
                [tasks[i] for i in missed],
            )
            for i, extra, extra_skipped in zip(missed, more, more_skipped):
                candidates[i] += extra
                skipped[i] += extra_skipped
            missed = [i for i in missed if self._all_fail(puzzles[i], candidates[i])]
        latency = (time.perf_counter() - start) * 1000
        budget = None if deadline is None else (deadline - start) / max(1, len(puzzles))
        out_of_time = deadline is not None and time.perf_counter() + step_seconds >= deadline
        notes = [
            self._cut_note(cands, skip, max_steps, budget, out_of_time and i in missed)
            for i, (cands, skip) in enumerate(zip(candidates, skipped))
        ]
        return [
            self.result(puzzle, cands, latency, note, task)
            for puzzle, cands, note, task in zip(puzzles, candidates, notes, tasks)
        ]

    @staticmethod
    def _another_round(rounds: int, deadline: float | None, step_seconds: float) -> bool:
        """Whether misses get another round of fresh views: one round without a time budget;
        with one, rounds while a step (as long as the first round's) still fits in it (an
        anytime search, since any view that verifies is right)."""
        if deadline is None:
            return rounds == 0
        return rounds == 0 or time.perf_counter() + step_seconds < deadline

    def _cut_note(
        self,
        candidates: list[Candidate],
        skipped: int,
        max_steps: int | None,
        budget: float | None,
        unverified_at_deadline: bool,
    ) -> str | None:
        """Why this puzzle's search was cut short by the time budget, or None if it was not:
        views skipped or stopped mid-recursion, or rounds of fresh views still failing."""
        stopped = sum(c.cut for c in candidates)
        if not (skipped or stopped or unverified_at_deadline):
            return None
        ran = len(candidates)
        note = f"time budget of {budget:.2f} s per puzzle ran out after {ran} view(s)"
        if skipped:
            note += f", {skipped} more skipped"
        if stopped:
            steps = max_steps or self.model.config.max_supervision_steps
            note += f"; {stopped} stopped before halting or reaching {steps} steps"
        return note

    def candidates(
        self,
        puzzles: list[Puzzle],
        views: list[list],
        max_steps: int | None,
        deadline: float | None = None,
        needed: int | None = None,
        tasks: list[FittedTask | None] | None = None,
    ) -> tuple[list[list[Candidate]], list[int]]:
        """Every view of every puzzle in one batched recursion, mapped back to the puzzle's
        own frame, and per puzzle the number of views the deadline skipped. Views run
        view-major, so every puzzle's first view runs before any puzzle's second; past the
        deadline only the first `needed` views (default: all) still run. A puzzle with a
        fitted network (`tasks`) runs on that network, apart from the others. Once a view's
        answer passes the exact check, the puzzle's views still running stop; those whose
        answer at that step passes too vote, the others do not."""
        depth = max(len(puzzle_views) for puzzle_views in views)
        flat = [
            (p, puzzle_views[k])
            for k in range(depth)
            for p, puzzle_views in enumerate(views)
            if k < len(puzzle_views)
        ]
        needed = len(flat) if needed is None else needed
        out: list[list[Candidate]] = [[] for _ in puzzles]
        skipped = [0] * len(puzzles)
        fitted = tasks or [None] * len(puzzles)
        solved: set[int] = set()
        verifying: set[int] = set()
        dropped: set[int] = set()

        def settled(
            members: list[int], indices: list[int], answers: torch.Tensor | None
        ) -> list[bool]:
            """Which of these views need no more steps (or, without answers, no steps at all):
            their puzzle is solved, by one of them now (every view whose answer passes the check
            keeps its vote) or earlier (the rest stop and do not vote)."""
            now = set()
            for j, tokens in zip(indices, [] if answers is None else answers):
                p, view = flat[members[j]]
                if p not in solved and self.kind.verify(
                    puzzles[p], view.invert(self.kind.decode(tokens))
                ):
                    now.add(p)
                    verifying.add(members[j])
            solved.update(now)
            flags = [flat[members[j]][0] in solved for j in indices]
            dropped.update(members[j] for j, flag in zip(indices, flags) if flag)
            return flags

        with self._lock:
            networks: dict[int, list[int]] = {}
            for i, (p, _) in enumerate(flat):
                networks.setdefault(id(fitted[p]), []).append(i)
            for members in networks.values():
                task = fitted[flat[members[0]][0]]
                grids = [flat[i][1].apply(puzzles[flat[i][0]].grid) for i in members]
                rows = [
                    task.views.index(flat[i][1]) if task else self.task_row(puzzles[flat[i][0]])
                    for i in members
                ]
                predictions = self.predict(
                    grids,
                    max_steps or (self.fit.supervision_steps if task else None),
                    rows,
                    deadline=deadline,
                    needed=sum(i < needed for i in members),
                    task=task,
                    settled=functools.partial(settled, members),
                )
                for i, prediction in zip(members, predictions):
                    p, view = flat[i]
                    if i in dropped and i not in verifying:
                        continue
                    if prediction is None:
                        skipped[p] += 1
                        continue
                    tokens, confidence, steps, cut = prediction
                    grid = view.invert(self.kind.decode(tokens))
                    consistent = task is not None and self.consistent(puzzles[p], task, view)
                    out[p].append(
                        Candidate(
                            grid=grid,
                            confidence=confidence,
                            steps=steps,
                            cut=cut,
                            consistent=consistent,
                        )
                    )
        return out, skipped

    def consistent(self, puzzle: Puzzle, task: FittedTask, view) -> bool:
        """Whether the fitted network reproduces every demonstration under this view."""
        steps, row = self.fit.supervision_steps, task.views.index(view)
        pairs = puzzle.examples
        return all(reproduced(task.model, self.kind, pairs, task.side, steps, view, row))

    def _all_fail(self, puzzle: Puzzle, candidates: list[Candidate]) -> bool:
        """Every distinct answer fails the exact check (False, not None: some kinds cannot
        check); views that agree are checked once."""
        distinct = {repr(c.grid): c.grid for c in candidates}.values()
        return all(self.kind.verify(puzzle, grid) is False for grid in distinct)

    def views_of(self, puzzle: Puzzle, count: int | None = None, round: int = 0) -> list:
        """Identity plus count-1 (default views-1) distinct random symmetries, or for a later
        round, count random ones (fewer where the kind has fewer). Seeded by the puzzle and
        round, so the same puzzle gets the same answer alone or in any batch (while no time
        budget cuts a search short)."""
        count = count or self.views
        seed = f"{self.seed}/{round}/{puzzle.grid}" if round else f"{self.seed}/{puzzle.grid}"
        rng = random.Random(seed)
        views = [] if round else [Identity()]
        for _ in range(4 * count):
            if len(views) == count:
                break
            view = self.kind.random_augmentation(rng)
            if view not in views:
                views.append(view)
        return views

    def unseen_views(self, puzzle: Puzzle, seen: set, round: int) -> list:
        """Up to retry_views random symmetries of round `round` that are not in `seen` (added
        to it): a maze has only 8, so its rounds end once all have run."""
        fresh = []
        for view in self.views_of(puzzle, 4 * self.retry_views, round):
            if view not in seen and len(fresh) < self.retry_views:
                seen.add(view)
                fresh.append(view)
        return fresh

    @property
    def fits_tasks(self) -> bool:
        """Whether the model has task embeddings (ARC), so that each task is fitted first."""
        return self.model.config.n_puzzles > 1 or bool(self.card.task_ids)

    def task_row(self, puzzle: Puzzle) -> int:
        """The embedding row of the puzzle's task: 0 for models without task embeddings (and
        for a table of one unnamed row, shared by every puzzle: official Sudoku and maze);
        otherwise the task's learned row. Unknown tasks have none: they are fitted."""
        if not self.fits_tasks:
            return 0
        if puzzle.task_id not in self.rows:
            raise PuzzleError(f"No learned row for task {puzzle.task_id!r}; fit it first.")
        return self.rows[puzzle.task_id]

    @staticmethod
    def fit_key(puzzle: Puzzle) -> str:
        return f"{puzzle.task_id}/{puzzle.examples!r}"

    def prepare(
        self,
        puzzles: list[Puzzle],
        deadline: float | None,
        progress: ProgressCallback | None = None,
    ) -> list[FittedTask | None]:
        """Fit a network to each puzzle's task from its demonstrations (models with task
        embeddings only, else None; cached), each within FIT_SHARE of its share of the time
        left."""
        if not self.fits_tasks:
            return [None] * len(puzzles)
        tasks = []
        for index, puzzle in enumerate(puzzles):
            if not puzzle.examples:
                raise PuzzleError(
                    f"This {self.kind.name} model learns each task from its demonstration "
                    "pairs; give at least one input/output example."
                )
            now, left = time.perf_counter(), len(puzzles) - index
            fit_by = None if deadline is None else now + FIT_SHARE * (deadline - now) / left
            tasks.append(self.fitted_task(puzzle, fit_by, progress))
        return tasks

    def fitted_task(
        self, puzzle: Puzzle, deadline: float | None, progress: ProgressCallback | None = None
    ) -> FittedTask:
        """The network fitted to the puzzle's task (fitting.py), from the cache if asked before."""
        key = self.fit_key(puzzle)
        with self._fit_lock:
            if key in self.fitted:
                self.fitted.move_to_end(key)
                return self.fitted[key]
            row = self.rows.get(puzzle.task_id)
            task = fit_task(self.model, self.kind, puzzle, self.fit, row, deadline, progress)
            with self._lock:
                self.fitted[key] = task
                while len(self.fitted) > FITTED_CACHE:
                    self.fitted.popitem(last=False)
            return task

    @torch.no_grad()
    def predict(
        self,
        grids: list[Grid],
        max_steps: int | None,
        ids: list[int] | None = None,
        early_halting: bool = True,
        deadline: float | None = None,
        needed: int | None = None,
        task: FittedTask | None = None,
        settled: Callable[[list[int], torch.Tensor | None], list[bool]] | None = None,
    ) -> list[tuple | None]:
        """Batched recursion over grids (with their task embedding rows), grouped by encoded
        shape and sliced (`slice_rows`), in order -> (tokens, conf, steps, cut by deadline).
        With a fitted `task`, on its network and canvas.

        Past `deadline`, slices that hold none of the first `needed` grids (default: all of
        them) are skipped (None), and running ones stop after their current step. `settled`
        ((grid indices, their answers after a step, or None before the first) -> which need no
        more steps) stops grids early, or skips a slice, without counting them as cut."""
        ids = ids or [0] * len(grids)
        needed = len(grids) if needed is None else needed
        model = self.model if task is None else task.model
        encoded = [self.kind.encode(grid) for grid in grids]
        if task is not None:
            encoded = [crop(tokens, task.side) for tokens in encoded]
        by_shape: dict[tuple, list[int]] = {}
        for i, tokens in enumerate(encoded):
            by_shape.setdefault(tuple(tokens.shape), []).append(i)
        slices = sorted(
            (
                rows[start : start + self.slice_rows(shape)]
                for shape, rows in by_shape.items()
                for start in range(0, len(rows), self.slice_rows(shape))
            ),
            key=min,
        )
        max_steps = max_steps or model.config.max_supervision_steps
        out: list[tuple | None] = [None] * len(grids)
        autocast = torch.autocast("cuda", torch.bfloat16, enabled=self.device.type == "cuda")
        for index in slices:
            late = deadline is not None and time.perf_counter() > deadline
            if (late and min(index) >= needed) or (settled and all(settled(index, None))):
                continue
            batch = torch.stack([encoded[i] for i in index]).to(self.device)
            batch_ids = torch.tensor([ids[i] for i in index], device=self.device)
            stopped: set[int] = set()
            hook = None if settled is None else _slice_hook(index, settled, stopped)
            with autocast:
                prediction = model.predict(
                    batch, batch_ids, max_steps, early_halting, deadline, hook
                )
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
                out[i] = (tokens[row], float(conf[row]), int(steps[row]), cut)
        return out

    def slice_rows(self, shape: tuple[int, ...]) -> int:
        """Views of this encoded shape per forward pass."""
        if self.device.type != "cpu":
            return self.max_rows
        return max(1, min(self.max_rows, CPU_SLICE_CELLS // math.prod(shape)))

    def result(
        self,
        puzzle: Puzzle,
        candidates: list[Candidate],
        latency: float,
        cut_short: str | None = None,
        task: FittedTask | None = None,
    ) -> SolveResult:
        ranked, share = vote(self.kind, puzzle, candidates)
        best = ranked[0]
        return SolveResult(
            kind=self.kind.name,
            grid=best.grid,
            solution_text=self.kind.render(puzzle, best.grid),
            verified=self.kind.verify(puzzle, best.grid),
            confidence=round(best.confidence * share, 4),
            steps=best.steps,
            latency_ms=round(latency, 2),
            views=len(candidates),
            attempts=[c.grid for c in ranked[:2]],
            attempt_texts=[self.kind.render(puzzle, c.grid) for c in ranked[:2]],
            cut_short=cut_short,
            fit=None if task is None else task.report,
        )


def _slice_hook(
    index: list[int],
    settled: Callable[[list[int], torch.Tensor | None], list[bool]],
    stopped: set[int],
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """`settled` for one slice's batch rows (`TRM.predict`'s hook): maps rows to grid indices
    and records in `stopped` the grids it stops."""

    def hook(active: torch.Tensor, answers: torch.Tensor) -> torch.Tensor:
        grids = [index[row] for row in active.tolist()]
        flags = settled(grids, answers.cpu())
        stopped.update(grid for grid, flag in zip(grids, flags) if flag)
        return torch.tensor(flags, dtype=torch.bool, device=answers.device)

    return hook


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
    puzzle_kind = official_kind(get_kind(kind), card.encoding, card.config)
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
