"""How hard one call searches (`SearchPolicy`) and until when (`Deadline`): values, passed in."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

RETRY_VIEWS = 8
"""Default fresh views per retry round for puzzles none of whose views verify."""
MAX_SECONDS = 2.0
"""Default time budget per puzzle of one call; a kind may set its own (`default_max_seconds`).
About what a user waits for one tool call; 0: no budget."""
COMMIT_SHARE = 0.05
"""Share of a puzzle's blanks each retry round fills from the failed answers, where the kind can
(`PuzzleKind.commit`): with a retry round run to its end, 17-given Sudokus solved by the
355-min model rose from 30% to 67% (docs/models.md, "Commit rounds")."""


@dataclass(frozen=True)
class SearchPolicy:
    """The search one call asks for. A solver holds a default; each call may change any part."""

    views: int = 8
    """Test-time views of the first round (identity + random symmetries), voted over."""
    retry_views: int = RETRY_VIEWS
    """Fresh views per retry round on puzzles whose views all fail the check (0: no retries)."""
    max_steps: int | None = None
    """Supervision steps per view (None: the network's own)."""
    max_seconds: float = MAX_SECONDS
    """Time budget per puzzle of a call, in seconds (0: none)."""
    commit_share: float = COMMIT_SHARE
    """Share of the blanks each retry round commits where the kind can (0: retry rounds rerun
    the same puzzle)."""

    def __post_init__(self) -> None:
        if self.views < 1 or self.retry_views < 0 or self.max_seconds < 0:
            raise ValueError(
                f"a search needs views >= 1, retry_views >= 0, max_seconds >= 0: {self}"
            )
        if not 0 <= self.commit_share < 1:
            raise ValueError(f"commit_share is a share of the blanks, 0 <= share < 1: {self}")

    def but(
        self,
        views: int | None = None,
        retry_views: int | None = None,
        max_steps: int | None = None,
        max_seconds: float | None = None,
    ) -> SearchPolicy:
        """This policy with the options a call gives (None, and max_steps 0: keep this one's)."""
        changes = {"views": views, "retry_views": retry_views, "max_seconds": max_seconds}
        changes = {name: value for name, value in changes.items() if value is not None}
        if max_steps:
            changes["max_steps"] = max_steps
        return dataclasses.replace(self, **changes)

    def batch_key(self) -> tuple:
        """Calls whose searches may share one batched recursion (the deadline aside)."""
        return (self.views, self.retry_views, self.max_steps, self.commit_share)


@dataclass(frozen=True)
class Deadline:
    """When a search must end, as a `time.perf_counter()` value (None: never). The one place
    the solver reads the clock for its budget."""

    at: float | None = None

    @classmethod
    def after(cls, seconds: float, start: float | None = None) -> Deadline:
        """`seconds` after `start` (default: now); 0 or less: no deadline."""
        if seconds <= 0:
            return cls()
        return cls((time.perf_counter() if start is None else start) + seconds)

    @classmethod
    def earliest(cls, deadlines: list[Deadline]) -> Deadline:
        """The first of several deadlines (no deadline when none has one)."""
        times = [d.at for d in deadlines if d.at is not None]
        return cls(min(times) if times else None)

    def remaining(self) -> float:
        """Seconds left (inf without a deadline; negative once past it)."""
        return math.inf if self.at is None else self.at - time.perf_counter()

    def expired(self) -> bool:
        return self.remaining() < 0

    def fits(self, seconds: float) -> bool:
        """Whether something that takes `seconds` and starts now ends in time."""
        return seconds <= self.remaining()

    def share(self, fraction: float) -> Deadline:
        """A deadline `fraction` of the time left from now (itself without a deadline)."""
        if self.at is None:
            return self
        now = time.perf_counter()
        return Deadline(now + fraction * (self.at - now))
