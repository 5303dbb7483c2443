"""Sudoku: reading grids from free-form text, answering in the same format, an exact solver,
augmentation, and a generator with difficulty tiers (plus sparse tiers drawn from Royle's
17-given collection).

Grids are 9x9 lists of ints, 0 = blank, 1-9 digits. The modules: grid (the grid forms),
exact (rules, exact solver, verify), spans + read_lists + read_lines + parse (reading text),
render, tokens, augment (symmetries, canonical keys), generate, sparse, files (CSV).
"""

from __future__ import annotations

from ..base import PuzzleKind
from .augment import SudokuAugmentation, canonical_key, random_augmentation
from .commit import commit
from .exact import DEFAULT_NODE_LIMIT, SolveReport, difficulty, exact_solution, solve_exact, verify
from .files import read_csv
from .generate import DEEP_GUESSES, TIERS, canvas_shape, generate
from .grid import FORMAT_HELP, NAME, pretty, to_line
from .parse import parse, read_answer
from .render import question_text, render
from .sparse import (
    MAGICTOUR_FILE,
    ROYLE17_FILE,
    ROYLE17_VALIDATION_EVERY,
    SPARSE_TIERS,
    forbidden_keys,
    royle17_split,
    sparse_puzzle,
)
from .tokens import VOCAB_SIZE, decode, encode

KIND = PuzzleKind(
    name=NAME,
    vocab_size=VOCAB_SIZE,
    format_help=FORMAT_HELP,
    tiers=TIERS,
    parse=parse,
    render=render,
    verify=verify,
    encode=encode,
    decode=decode,
    random_augmentation=random_augmentation,
    generate=generate,
    canonical_key=canonical_key,
    canvas_shape=canvas_shape,
    question_text=question_text,
    read_answer=read_answer,
    solve_exact=exact_solution,
    read_csv=read_csv,
    commit=commit,
)

__all__ = [
    "DEEP_GUESSES",
    "DEFAULT_NODE_LIMIT",
    "FORMAT_HELP",
    "KIND",
    "MAGICTOUR_FILE",
    "NAME",
    "ROYLE17_FILE",
    "ROYLE17_VALIDATION_EVERY",
    "SPARSE_TIERS",
    "TIERS",
    "VOCAB_SIZE",
    "SolveReport",
    "SudokuAugmentation",
    "canonical_key",
    "canvas_shape",
    "commit",
    "decode",
    "difficulty",
    "encode",
    "exact_solution",
    "forbidden_keys",
    "generate",
    "parse",
    "pretty",
    "question_text",
    "random_augmentation",
    "read_answer",
    "read_csv",
    "render",
    "royle17_split",
    "solve_exact",
    "sparse_puzzle",
    "to_line",
    "verify",
]
