"""The inference engine: text in, verified solution text out.

    parse -> K views (identity + random symmetries) -> one batched TRM recursion with
    per-example early halting -> decode, map each view back to the original frame -> vote
    (a candidate that verifies wins) -> render in the user's own format.

A puzzle none of whose views verifies (where the kind can check answers) gets one more round
with more, fresh views: misses are rare on the puzzles a model knows, so the extra cost falls
on few puzzles, and any view that verifies is right.

Every puzzle kind goes through the same path; all kind-specific work happens in the kind.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from pydantic import BaseModel, Field

from .checkpoint import CheckpointError, ModelCard, load, resolve
from .data import task_rows
from .fitting import FitConfig, fit_task_vector
from .model import TRM
from .official import official_kind
from .puzzles import Grid, Puzzle, PuzzleError, PuzzleKind, get_kind
from .puzzles.base import Identity

RETRY_VIEWS = 32
"""Default fresh views of the second round for puzzles none of whose views verify."""
CPU_MAX_ROWS, GPU_MAX_ROWS = 16, 8192
"""Views per forward pass by device (see `Solver`)."""


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


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Candidate(BaseModel):
    grid: Grid
    confidence: float
    steps: int


def vote(kind: PuzzleKind, puzzle: Puzzle, candidates: list[Candidate]) -> tuple[list, float]:
    """Rank distinct answers: verified ones first, then by how many views agree, then by
    summed halting confidence. Returns (ranked candidates, vote share of the winner)."""
    tally: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        tally.setdefault(repr(candidate.grid), []).append(candidate)
    verified = {key: kind.verify(puzzle, group[0].grid) for key, group in tally.items()}

    def rank(key: str) -> tuple:
        group = tally[key]
        return (bool(verified[key]), len(group), sum(c.confidence for c in group))

    ordered = sorted(tally, key=rank, reverse=True)
    winners = [max(tally[key], key=lambda c: c.confidence) for key in ordered]
    return winners, len(tally[ordered[0]]) / len(candidates)


@dataclass
class _Request:
    """One queued `solve` call, waiting for the batching worker to fill in its result."""

    puzzle: Puzzle
    max_steps: int | None
    start: float
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
    attention Sudoku model on one busy thread, all steps: 10.1 rows/s at 8 rows, 6.6 at 512).
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
    ):
        self.kind, self.model, self.card, self.device = kind, model.to(device).eval(), card, device
        self.views, self.max_steps, self.seed = max(1, views), max_steps, seed
        self.retry_views = max(0, retry_views)
        """Fresh views for a second round on puzzles whose views all fail the check (0: no
        second round)."""
        self.max_batch, self.batch_wait_s = max_batch, batch_wait_ms / 1000
        self.max_rows = max_rows or (CPU_MAX_ROWS if device.type == "cpu" else GPU_MAX_ROWS)
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self.batch_sizes: list[int] = []
        """Sizes of the batches the worker ran (for metrics)."""
        self.rows = task_rows(card.task_ids)
        """Task id (or demonstrations, for fitted tasks) -> embedding row."""
        self.fit = fit or FitConfig()
        self.fit_stats: list[dict] = []

    def solve(self, text: str, max_steps: int | None = None) -> SolveResult:
        """Solve one puzzle given as text; PuzzleError on bad input. Concurrent calls from
        several threads are batched together."""
        request = _Request(self.kind.parse(text), max_steps, time.perf_counter())
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
                try:
                    results = self.solve_puzzles([r.puzzle for r in group], max_steps)
                except Exception as err:  # reported to every waiting caller, worker lives on
                    for r in group:
                        r.error = err
                        r.done.set()
                    continue
                for r, result in zip(group, results):
                    latency = round((time.perf_counter() - r.start) * 1000, 2)
                    r.result = result.model_copy(update={"latency_ms": latency})
                    r.done.set()

    def solve_many(self, texts: list[str], max_steps: int | None = None) -> list[SolveResult]:
        """Solve several puzzles in one batched recursion; same results as one by one."""
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
        return self.solve_puzzles(puzzles, max_steps, start)

    def solve_puzzles(
        self, puzzles: list[Puzzle], max_steps: int | None = None, start: float | None = None
    ) -> list[SolveResult]:
        start = start or time.perf_counter()
        max_steps = max_steps or self.max_steps
        views = [self.views_of(puzzle) for puzzle in puzzles]
        candidates = self.candidates(puzzles, views, max_steps)
        missed = [i for i, (p, c) in enumerate(zip(puzzles, candidates)) if self._all_fail(p, c)]
        if missed and self.retry_views:
            again = [puzzles[i] for i in missed]
            fresh = [self.views_of(puzzle, self.retry_views, fresh=True) for puzzle in again]
            for i, more in zip(missed, self.candidates(again, fresh, max_steps)):
                candidates[i] += more
        latency = (time.perf_counter() - start) * 1000
        return [self.result(puzzle, cands, latency) for puzzle, cands in zip(puzzles, candidates)]

    def candidates(
        self, puzzles: list[Puzzle], views: list[list], max_steps: int | None
    ) -> list[list[Candidate]]:
        """Every view of every puzzle in one batched recursion, mapped back to the puzzle's
        own frame."""
        flat = [(p, aug) for p, puzzle_views in enumerate(views) for aug in puzzle_views]
        grids = [aug.apply(puzzles[p].grid) for p, aug in flat]
        out: list[list[Candidate]] = [[] for _ in puzzles]
        with self._lock:
            rows = [self.task_row(puzzle) for puzzle in puzzles]
            predictions = self.predict(grids, max_steps, [rows[p] for p, _ in flat])
        for (p, aug), (tokens, confidence, steps) in zip(flat, predictions):
            grid = aug.invert(self.kind.decode(tokens))
            out[p].append(Candidate(grid=grid, confidence=confidence, steps=steps))
        return out

    def _all_fail(self, puzzle: Puzzle, candidates: list[Candidate]) -> bool:
        """Every distinct answer fails the exact check (False, not None: some kinds cannot
        check); views that agree are checked once."""
        distinct = {repr(c.grid): c.grid for c in candidates}.values()
        return all(self.kind.verify(puzzle, grid) is False for grid in distinct)

    def views_of(self, puzzle: Puzzle, count: int | None = None, fresh: bool = False) -> list:
        """Identity plus count-1 (default views-1) random symmetries, or with `fresh` count
        other random ones for a second round. Seeded by the puzzle itself, so the same puzzle
        gets the same answer alone or in any batch."""
        count = count or self.views
        if fresh:
            rng = random.Random(f"{self.seed}/1/{puzzle.grid}")
            return [self.kind.random_augmentation(rng) for _ in range(count)]
        rng = random.Random(f"{self.seed}/{puzzle.grid}")
        return [Identity()] + [self.kind.random_augmentation(rng) for _ in range(count - 1)]

    def task_row(self, puzzle: Puzzle) -> int:
        """The embedding row of the puzzle's task (0 for models without task embeddings, and
        for a table of one unnamed row, shared by every puzzle: official Sudoku and maze)."""
        if self.model.config.n_puzzles <= 1 and not self.card.task_ids:
            return 0
        known = puzzle.task_id in self.rows
        key = puzzle.task_id if known else f"fitted:{puzzle.examples!r}"
        if key not in self.rows:
            self.rows[key] = self.fit_task(puzzle)
        return self.rows[key]

    def fit_task(self, puzzle: Puzzle) -> int:
        """Test-time fitting: learn an embedding row for a task the model never trained on
        from its demonstration pairs (fitting.py), append it to the table, return its row."""
        if not puzzle.examples:
            raise PuzzleError(
                f"This {self.kind.name} model needs the task's demonstration pairs to learn "
                "a task it has not seen; give at least one input/output example."
            )
        vector, stats = fit_task_vector(self.model, self.kind, puzzle.examples, self.fit)
        table = self.model.puzzle_embed
        table.weight = torch.nn.Parameter(torch.cat([table.weight.data, vector[None]]))
        table.num_embeddings += 1
        self.fit_stats.append(stats)
        return table.num_embeddings - 1

    @torch.no_grad()
    def predict(
        self,
        grids: list[Grid],
        max_steps: int | None,
        ids: list[int] | None = None,
        early_halting: bool = True,
    ) -> list[tuple]:
        """Batched recursion over grids (with their task embedding rows), grouped by encoded
        shape and sliced to `max_rows` -> (tokens, conf, steps)."""
        ids = ids or [0] * len(grids)
        encoded = [self.kind.encode(grid) for grid in grids]
        by_shape: dict[tuple, list[int]] = {}
        for i, tokens in enumerate(encoded):
            by_shape.setdefault(tuple(tokens.shape), []).append(i)
        slices = [
            rows[start : start + self.max_rows]
            for rows in by_shape.values()
            for start in range(0, len(rows), self.max_rows)
        ]
        out: list[tuple] = [None] * len(grids)
        autocast = torch.autocast("cuda", torch.bfloat16, enabled=self.device.type == "cuda")
        for index in slices:
            batch = torch.stack([encoded[i] for i in index]).to(self.device)
            batch_ids = torch.tensor([ids[i] for i in index], device=self.device)
            with autocast:
                prediction = self.model.predict(batch, batch_ids, max_steps, early_halting)
            tokens, conf, steps = (
                t.cpu() for t in (prediction.tokens, prediction.confidence, prediction.steps)
            )
            for row, i in enumerate(index):
                out[i] = (tokens[row], float(conf[row]), int(steps[row]))
        return out

    def result(self, puzzle: Puzzle, candidates: list[Candidate], latency: float) -> SolveResult:
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
        )


def load_solver(
    kind: str,
    checkpoint: str | Path | None = None,
    device: str = "auto",
    views: int = 8,
    max_steps: int | None = None,
    retry_views: int = RETRY_VIEWS,
) -> Solver:
    """A Solver for `kind` from the shipped checkpoint (or the file or directory at
    `checkpoint`, imported official ones included)."""
    path = resolve(kind, checkpoint)
    target = resolve_device(device)
    model, card = load(path, target)
    if card.kind != kind:
        raise CheckpointError(f"{path} is a {card.kind} checkpoint, not {kind}")
    puzzle_kind = official_kind(get_kind(kind), card.encoding, card.config)
    return Solver(puzzle_kind, model, card, target, views, max_steps, retry_views=retry_views)
