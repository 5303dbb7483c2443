"""What a solve returns (`SolveResult`) and what each view proposes (`Candidate`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..fitting import FitReport
from ..puzzles import Grid


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


class Candidate(BaseModel):
    """One view's answer, mapped back to the puzzle's own frame."""

    grid: Grid
    confidence: float
    steps: int
    cut: bool = False
    """Stopped by the time budget before halting or spending its step budget."""
    consistent: bool = False
    """The network of this view reproduces every demonstration under the view (fitted
    tasks only)."""
