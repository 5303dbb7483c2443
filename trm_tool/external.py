"""Puzzle sets we did not generate, for `trm-tool bench`: evaluation only, never training.

A model that is right on held-out puzzles from our own generators can still be wrong on
everyone else's: it learns the generator's habits. So bench also measures:

- puzzle files (`--file PATH`): one puzzle per line, or puzzles separated by blank lines, in
  any format the kind's parser reads; the public collections in `../shared/benchmarks/` by name
  (`--set magictour`: the magictour top1465 hard Sudokus);
- mazes from the independent `maze-dataset` library (`--set maze-dataset/<algorithm>/<size>`,
  a dev/eval dependency): its lattice mazes drawn as text (a wall ring, one-cell corridors),
  S and G placed on random lattice nodes at least a minimum route apart.

Answers are judged by the kind's exact check (`verify`): any valid Sudoku solution, any shortest
maze route.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .puzzles import Puzzle, PuzzleError, PuzzleKind
from .puzzles import maze as maze_kind
from .puzzles.base import SHARED_ENV, shared_dir

NAMED_FILES = {"magictour": ("sudoku", "benchmarks/sudoku/magictour_top1465.txt")}
MAZE_DATASET_ALGORITHMS = (
    "dfs",
    "wilson",
    "kruskal",
    "recursive_division",
    "dfs_percolation",
    "percolation",
)
MAZE_DATASET_SIZES = {"small": (5, 7), "large": (14, 14)}
"""Lattice sides in nodes; the drawn maze is 2n+1 cells a side (11-15, or 29)."""
LOOPY_ALGORITHMS = ("dfs_percolation", "percolation")
"""Algorithms whose mazes have loops: their 29x29 routes rarely reach Maze-Hard lengths."""
LOOPY_LARGE_MIN_PATH = 58


def min_route(algorithm: str, size: str, sides: tuple[int, int]) -> int:
    """Fewest route cells between S and G: the generator default (height + width) // 4 for small
    mazes; for large ones Maze-Hard's 111, or twice the side where loops make that rare."""
    if size == "small":
        return sum(sides) // 4
    return LOOPY_LARGE_MIN_PATH if algorithm in LOOPY_ALGORITHMS else maze_kind.HARD_MIN_PATH


_PLACEMENT_TRIES = 50


@dataclass(frozen=True)
class PuzzleSet:
    name: str
    source: str
    puzzles: list[Puzzle]


def set_names(kind: str) -> list[str]:
    """The named external sets of a kind."""
    files = [name for name, (owner, _) in NAMED_FILES.items() if owner == kind]
    mazes = [f"maze-dataset/{a}/{s}" for a in MAZE_DATASET_ALGORITHMS for s in MAZE_DATASET_SIZES]
    return files + (mazes if kind == maze_kind.KIND.name else [])


def load_set(kind: PuzzleKind, name: str, n: int = 0, seed: int = 0) -> PuzzleSet:
    """The external set called `name` (see `set_names`), or a puzzle file at that path: n puzzles
    drawn with `seed` (all of a file when n is 0)."""
    if name in NAMED_FILES:
        owner, relative = NAMED_FILES[name]
        if owner != kind.name:
            raise PuzzleError(f"The set {name!r} holds {owner} puzzles, not {kind.name}.")
        path = shared_dir() / relative
        if not path.exists():
            raise PuzzleError(
                f"{path} is missing: the shared benchmarks are not beside this "
                f"checkout (set ${SHARED_ENV} to the folder that holds benchmarks/)."
            )
        return _sample(read_puzzle_file(kind, path), n, seed, name)
    if name.startswith("maze-dataset/"):
        return maze_dataset_set(name, n or 50, seed)
    if Path(name).exists():
        return _sample(read_puzzle_file(kind, Path(name)), n, seed, str(name))
    raise PuzzleError(
        f"Unknown puzzle set {name!r}: expected a file path or one of {set_names(kind.name)}."
    )


def _sample(puzzles: PuzzleSet, n: int, seed: int, name: str) -> PuzzleSet:
    chosen = puzzles.puzzles
    if 0 < n < len(chosen):
        chosen = random.Random(seed).sample(chosen, n)
    source = puzzles.source + (
        f", {len(chosen)} drawn with seed {seed}" if chosen is not puzzles.puzzles else ""
    )
    return PuzzleSet(name, source, chosen)


def read_puzzle_file(kind: PuzzleKind, path: Path) -> PuzzleSet:
    """Every puzzle in a text file: one per line when each line reads as a puzzle, else blocks
    separated by blank lines. PuzzleError names the line of a puzzle that does not read."""
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        puzzles = [kind.parse(line) for line in lines if line.strip()]
    except PuzzleError:
        puzzles = [_parse_block(kind, block, path) for block in _blocks(lines)]
    if not puzzles:
        raise PuzzleError(f"{path} holds no puzzles.")
    return PuzzleSet(path.name, f"file {path} ({len(puzzles)} puzzles)", puzzles)


def _blocks(lines: list[str]) -> list[tuple[int, str]]:
    """(first line number, text) of each run of non-blank lines."""
    blocks, current, first = [], [], 0
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip():
            first = first if current else number
            current.append(line)
        elif current:
            blocks.append((first, "\n".join(current)))
            current = []
    return blocks


def _parse_block(kind: PuzzleKind, block: tuple[int, str], path: Path) -> Puzzle:
    line, text = block
    try:
        return kind.parse(text)
    except PuzzleError as err:
        raise PuzzleError(f"{path}, puzzle starting on line {line}: {err}") from None


# ---------------------------------------------------------------------------------------------
# maze-dataset


def maze_dataset_set(name: str, n: int, seed: int) -> PuzzleSet:
    """n mazes of `maze-dataset/<algorithm>/<size>`, made by the maze-dataset library."""
    parts = name.split("/")
    if (
        len(parts) != 3
        or parts[1] not in MAZE_DATASET_ALGORITHMS
        or parts[2] not in MAZE_DATASET_SIZES
    ):
        raise PuzzleError(
            f"Unknown maze-dataset set {name!r}: expected maze-dataset/<algorithm>/<size> with "
            f"algorithm one of {MAZE_DATASET_ALGORITHMS} and size one of "
            f"{tuple(MAZE_DATASET_SIZES)}."
        )
    _, algorithm, size = parts
    try:
        import numpy as np
        from maze_dataset.generation import LatticeMazeGenerators
    except ImportError as err:
        raise PuzzleError(
            f"The maze-dataset library is needed for {name} (pip install -e '.[dev]'): {err}"
        ) from None
    generate = getattr(LatticeMazeGenerators, f"gen_{algorithm}")
    low, high = MAZE_DATASET_SIZES[size]
    rng = random.Random(f"{name}/{seed}")
    puzzles = []
    while len(puzzles) < n:
        side = rng.randint(low, high), rng.randint(low, high)
        with _seeded_global_rngs(rng.randrange(2**32), np):
            walls = _lattice_walls(generate(side)._as_pixels_bw())
        need = min_route(algorithm, size, (len(walls), len(walls[0])))
        grid = _place_on_nodes(rng, walls, need)
        if grid is not None:
            puzzles.append(Puzzle(kind="maze", grid=grid, style=maze_kind.generated_style()))
    side = f"{2 * low + 1}-{2 * high + 1}" if low != high else str(2 * low + 1)
    source = f"maze-dataset {algorithm}, sides {side}, route >= {need} cells, seed {seed}"
    return PuzzleSet(name, source, puzzles)


@contextmanager
def _seeded_global_rngs(seed: int, np) -> Iterator[None]:
    """maze-dataset draws from the global `random` and `numpy.random` generators: seed both for
    a reproducible set, and give them back their state afterwards."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _lattice_walls(pixels) -> list[list[int]]:
    """maze-dataset's open-pixel mask as our codes (0 open, 1 wall)."""
    return [[maze_kind.OPEN if bool(p) else maze_kind.WALL for p in row] for row in pixels]


def _place_on_nodes(rng: random.Random, grid: list[list[int]], need: int) -> list[list[int]] | None:
    """S and G on lattice nodes (odd row and column) at least `need` path cells apart, or None
    when a few random starts find no such pair (the maze is then drawn again)."""
    width = len(grid[0])
    nodes = [(r, c) for r in range(1, len(grid), 2) for c in range(1, width, 2)]
    for _ in range(_PLACEMENT_TRIES):
        start = rng.choice(nodes)
        steps = maze_kind.distances(grid, start)
        far = [cell for cell in nodes if steps[cell[0] * width + cell[1]] - 1 >= need]
        if far:
            goal = rng.choice(far)
            placed = [row[:] for row in grid]
            placed[start[0]][start[1]], placed[goal[0]][goal[1]] = maze_kind.START, maze_kind.GOAL
            return placed
    return None
