"""Writing ARC grids and tasks as text (and pictures) in the task's own style."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..base import Grid, Puzzle
from .grid import check_grid, grid_text
from .png import png_bytes, side_by_side


def task_text(puzzle: Puzzle, style: dict[str, Any] | None = None) -> str:
    """The whole task as "Example n / Input: / Output: / Test input:" text, grids written in
    `style` (default: the puzzle's own), e.g. to show an ARC task to an LLM."""
    style = puzzle.style if style is None else style
    blocks = [
        f"Example {n}\nInput:\n{grid_text(inp, style)}\nOutput:\n{grid_text(out, style)}"
        for n, (inp, out) in enumerate(puzzle.examples, 1)
    ]
    blocks.append(f"Test input:\n{grid_text(puzzle.grid, style)}")
    return "\n\n".join(blocks)


def question_text(puzzle: Puzzle) -> str:
    return task_text(puzzle)


def render(puzzle: Puzzle, grid: Grid) -> str:
    """The output grid in the input's format: digit rows (ARC's own) unless the task was
    JSON (a JSON list) or used colour names."""
    return grid_text(check_grid(grid, "output grid"), puzzle.style)


def render_png(puzzle: Puzzle, grid: Grid, path: str | Path) -> Path:
    """A PNG of the test input (left) and the output grid (right) in ARC's palette."""
    width, rows = side_by_side([puzzle.grid, check_grid(grid, "output grid")])
    path = Path(path)
    path.write_bytes(png_bytes(width, rows))
    return path
