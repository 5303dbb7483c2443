"""Maze generation speed per tier (a script, not a test): python tests/bench_maze_gen.py [SECONDS]

Generates mazes of each tier for SECONDS (default 5) on one core and prints mazes per second,
with the mean size and path length, so changes to the generator can be compared.
"""

from __future__ import annotations

import random
import sys
import time

from trm_tool.puzzles import maze


def bench(tier: str, seconds: float) -> str:
    rng = random.Random(f"bench/{tier}")
    count, cells, path = 0, 0, 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        puzzle, solution = maze.generate(rng, tier)
        count += 1
        cells += len(puzzle.grid) * len(puzzle.grid[0])
        path += sum(code == maze.PATH for row in solution for code in row)
    rate = count / (time.perf_counter() - began)
    return (
        f"{tier:>6}: {rate:8.1f} mazes/s  mean {cells / count:5.0f} cells, path {path / count:5.1f}"
    )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    for tier in maze.TIERS:
        print(bench(tier, seconds), flush=True)


if __name__ == "__main__":
    main()
