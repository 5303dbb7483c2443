"""Mazes: the shortest route from a start S to a goal G through a grid of walls and open cells.

Mazes arrive as text grids (possibly inside prose or a code block) or as JSON, and answers are
written back in the same glyphs with the route marked. The generator makes perfect, braided and
random-wall mazes (and more styles) whose labels are a function of the maze. The modules: grid
(codes, routes), parse, render, exact (verify, baseline), tokens, augment, layouts + generate,
files (CSV).
"""

from __future__ import annotations

from ..base import PuzzleKind
from .augment import Dihedral, canonical_key, random_augmentation
from .exact import goal_steps, solve_exact, training_target, verify
from .files import read_csv
from .generate import HARD_MIN_PATH, HARD_STYLES, TIERS, canvas_shape, generate, generate_maze
from .grid import (
    GOAL,
    MAX_SIDE,
    OPEN,
    PATH,
    START,
    WALL,
    Cell,
    all_shortest_routes,
    count_shortest_paths,
    distances,
    path_coordinates,
    path_moves,
    shortest_path,
)
from .layouts import STYLES
from .nearest import nearest_route
from .parse import FORMAT_HELP, GOAL_GLYPHS, OPEN_GLYPHS, START_GLYPHS, WALL_GLYPHS, parse
from .render import DEFAULT_PATH_MARK, generated_style, question_text, read_solution, render
from .tokens import VOCAB_SIZE, decode, encode

KIND = PuzzleKind(
    name="maze",
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
    read_answer=read_solution,
    solve_exact=solve_exact,
    read_csv=read_csv,
    training_target=training_target,
    nearest_target=nearest_route,
    auxiliary_target=goal_steps,
    families=STYLES,
)

__all__ = [
    "DEFAULT_PATH_MARK",
    "FORMAT_HELP",
    "GOAL",
    "GOAL_GLYPHS",
    "HARD_MIN_PATH",
    "HARD_STYLES",
    "KIND",
    "MAX_SIDE",
    "OPEN",
    "OPEN_GLYPHS",
    "PATH",
    "START",
    "START_GLYPHS",
    "STYLES",
    "TIERS",
    "VOCAB_SIZE",
    "WALL",
    "WALL_GLYPHS",
    "Cell",
    "Dihedral",
    "all_shortest_routes",
    "nearest_route",
    "canonical_key",
    "canvas_shape",
    "count_shortest_paths",
    "decode",
    "distances",
    "encode",
    "generate",
    "generate_maze",
    "generated_style",
    "goal_steps",
    "parse",
    "path_coordinates",
    "path_moves",
    "question_text",
    "random_augmentation",
    "read_csv",
    "read_solution",
    "render",
    "shortest_path",
    "solve_exact",
    "verify",
]
