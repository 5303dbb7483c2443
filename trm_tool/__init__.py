"""trm-tool: Tiny Recursive Models as a tool for LLM agents (Sudoku, mazes, ARC-AGI)."""

from .puzzles import Puzzle, PuzzleError, parse, render, verify
from .solver import Solver, SolveResult, load_solver

__all__ = [
    "Puzzle",
    "PuzzleError",
    "SolveResult",
    "Solver",
    "load_solver",
    "parse",
    "render",
    "verify",
]
