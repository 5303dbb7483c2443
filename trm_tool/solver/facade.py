"""The inference engine: text in, verified solution text out (`Solver`, `load_solver`).

    parse -> the puzzle's network (`networks`, `fit_cache`) -> search (`search`: views,
    slices, vote, retry rounds within the `Deadline`) -> render in the user's own format.

Every puzzle kind goes through the same path; all kind-specific work happens in the kind.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import torch

from ..checkpoint import ModelCard
from ..data import task_rows
from ..fitting import FitConfig, ProgressCallback
from ..model import TRM
from ..puzzles import Grid, Puzzle, PuzzleError, PuzzleKind
from .batching import BatchQueue
from .fit_cache import FitCache
from .networks import ModelSource, Network, Shipped
from .policy import MAX_SECONDS, RETRY_VIEWS, Deadline, SearchPolicy
from .result import SolveResult
from .search import search
from .slices import CPU_MAX_ROWS, GPU_MAX_ROWS, RowAnswer, rows_per_pass, run_rows
from .threads import CPU_THREADS, torch_threads


@dataclass
class _Call:
    """One `solve` call waiting for the batching worker."""

    puzzle: Puzzle
    network: Network
    policy: SearchPolicy
    deadline: Deadline
    start: float


class Solver:
    """A trained TRM for one puzzle kind, with a default `policy` each call may change.

    Thread-safe. Concurrent `solve` calls with the same views and steps are merged by a
    background worker into one batched recursion (dynamic batching, `batching.py`), run in
    slices of at most `max_rows` views (`slices.py`)."""

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
        if max_seconds is None:
            max_seconds = kind.default_max_seconds or MAX_SECONDS
        self.policy = SearchPolicy(max(1, views), max(0, retry_views), max_steps, max_seconds)
        self.max_rows = max_rows or (CPU_MAX_ROWS if device.type == "cpu" else GPU_MAX_ROWS)
        self.fits_tasks = model.config.n_puzzles > 1 or bool(card.task_ids)
        """Whether the model has task embeddings (ARC), so that each task is fitted first."""
        self.source: ModelSource = (
            FitCache(kind, self.model, fit or FitConfig(), task_rows(card.task_ids))
            if self.fits_tasks
            else Shipped(Network(kind, self.model, seed))
        )
        self.model_lock = threading.Lock()
        """Held while the model runs: one search at a time."""
        self.threads = CPU_THREADS if device.type == "cpu" else None
        """torch threads while this solver runs (threads.py says why one on CPU)."""
        self.queue = BatchQueue(
            self._run_calls, lambda call: call.policy.batch_key(), max_batch, batch_wait_ms / 1000
        )

    @property
    def batch_sizes(self) -> list[int]:
        """Sizes of the batches the worker ran (for metrics)."""
        return self.queue.batch_sizes

    def solve(
        self,
        text: str | Puzzle,
        *,
        max_steps: int | None = None,
        max_seconds: float | None = None,
        views: int | None = None,
        retry_views: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> SolveResult:
        """Solve one puzzle given as text (or already parsed); options left None are the
        solver's `policy`'s. PuzzleError on bad input. Concurrent calls from several threads are
        batched together. `progress` hears from a test-time fit (models with task embeddings:
        ARC)."""
        puzzle = text if isinstance(text, Puzzle) else self.kind.parse(text)
        start = time.perf_counter()
        policy = self.policy.but(views, retry_views, max_steps, max_seconds)
        deadline = Deadline.after(policy.max_seconds, start)
        with torch_threads(self.threads):  # the fit (ARC), when the kind fits each task
            (network,) = self.source.networks([puzzle], deadline, progress)
        result = self.queue.submit(_Call(puzzle, network, policy, deadline, start))
        latency = round((time.perf_counter() - start) * 1000, 2)
        return result.model_copy(update={"latency_ms": latency})

    def solve_many(
        self,
        texts: list[str],
        *,
        max_steps: int | None = None,
        max_seconds: float | None = None,
        views: int | None = None,
        retry_views: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SolveResult]:
        """Solve several puzzles in one batched recursion; same results as one by one. The
        time budget is `max_seconds` per puzzle, for the whole call."""
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
        policy = self.policy.but(views, retry_views, max_steps, max_seconds)
        return self._solve(puzzles, policy, start, progress)

    def solve_puzzles(
        self,
        puzzles: list[Puzzle],
        *,
        max_steps: int | None = None,
        max_seconds: float = 0,
        views: int | None = None,
        retry_views: int | None = None,
    ) -> list[SolveResult]:
        """Solve parsed puzzles (benchmarks, evals): no time budget unless `max_seconds`."""
        policy = self.policy.but(views, retry_views, max_steps, max_seconds)
        return self._solve(puzzles, policy, time.perf_counter())

    def _solve(
        self,
        puzzles: list[Puzzle],
        policy: SearchPolicy,
        start: float,
        progress: ProgressCallback | None = None,
    ) -> list[SolveResult]:
        deadline = Deadline.after(policy.max_seconds * len(puzzles), start)
        with torch_threads(self.threads):
            networks = self.source.networks(puzzles, deadline, progress)
            with self.model_lock:
                return search(self.kind, puzzles, networks, policy, deadline, self.per_pass, start)

    def _run_calls(self, calls: list[_Call]) -> list[SolveResult]:
        """One batch of queued calls that share a policy (their deadlines aside)."""
        puzzles, networks = [c.puzzle for c in calls], [c.network for c in calls]
        deadline = Deadline.earliest([c.deadline for c in calls])
        start = min(c.start for c in calls)
        with torch_threads(self.threads), self.model_lock:
            return search(
                self.kind, puzzles, networks, calls[0].policy, deadline, self.per_pass, start
            )

    def per_pass(self, shape: tuple[int, ...]) -> int:
        """Views of this encoded shape per forward pass."""
        return rows_per_pass(self.device, self.max_rows, shape)

    def predict(
        self,
        grids: list[Grid],
        max_steps: int | None = None,
        ids: list[int] | None = None,
        early_halting: bool = True,
    ) -> list[RowAnswer]:
        """The raw network over grids (with their embedding rows), one view each, sliced as a
        search is (benchmarks): (tokens, confidence, steps, cut) per grid."""
        steps = max_steps or self.model.config.max_supervision_steps
        encoded = [self.kind.encode(grid) for grid in grids]
        ids = ids or [0] * len(grids)
        with self.model_lock:
            return run_rows(self.model, encoded, ids, steps, self.per_pass, early_halting)
