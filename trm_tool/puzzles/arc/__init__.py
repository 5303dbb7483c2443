"""ARC-AGI tasks: a few demonstration pairs of grids, and a test input whose output is asked for.

Text in: ARC task JSON (bare, in prose or in a markdown code block), or "Example 1 / Input: /
Output: / Test input:" blocks with grids written as digit rows, JSON lists or colour names.
Tokens: a 30x30 canvas with the grid at the top-left and end-of-grid markers just below and
just right of it. Training data follows the TRM paper: every pair of the training tasks plus
the demonstration pairs (never the test outputs) of the evaluation tasks, under random
dihedral transforms and recolourings, plus grid-operation tasks. The modules: grid,
read_json + read_text + parse, render + png, tokens, augment, tasks (the corpora),
operations, generate (material per tier).
"""

from __future__ import annotations

from ..base import PuzzleKind
from .augment import ArcAugmentation, canonical_key, random_augmentation
from .exact import solve_exact, verify
from .generate import (
    DEFAULT_MAX_SECONDS,
    NAME,
    TIERS,
    canvas_shape,
    evaluation_puzzles,
    generate,
    training_task_ids,
)
from .grid import COLOUR_CODES, COLOUR_NAMES, PALETTE, SIDE, Pair, check_grid
from .operations import GRID_OPERATIONS, OPERATIONS, operation_task
from .parse import FORMAT_HELP, parse, parse_all, read_answer
from .png import png_bytes
from .render import question_text, render, render_png, task_text
from .tasks import CORPORA, SPLITS, Task, load_tasks, training_material
from .tokens import COLOUR_OFFSET, MARKER, PAD, VOCAB_SIZE, decode, encode

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
    solve_exact=solve_exact,
    default_max_seconds=DEFAULT_MAX_SECONDS,
    evaluation_puzzles=evaluation_puzzles,
    training_task_ids=training_task_ids,
)

__all__ = [
    "COLOUR_CODES",
    "COLOUR_NAMES",
    "COLOUR_OFFSET",
    "CORPORA",
    "DEFAULT_MAX_SECONDS",
    "FORMAT_HELP",
    "GRID_OPERATIONS",
    "KIND",
    "MARKER",
    "OPERATIONS",
    "PAD",
    "PALETTE",
    "SIDE",
    "SPLITS",
    "TIERS",
    "VOCAB_SIZE",
    "ArcAugmentation",
    "Pair",
    "Task",
    "canonical_key",
    "canvas_shape",
    "check_grid",
    "decode",
    "encode",
    "evaluation_puzzles",
    "generate",
    "load_tasks",
    "operation_task",
    "parse",
    "parse_all",
    "png_bytes",
    "question_text",
    "random_augmentation",
    "read_answer",
    "render",
    "render_png",
    "solve_exact",
    "task_text",
    "training_material",
    "training_task_ids",
    "verify",
]
