"""Sudoku generator and exact-solver speed (a script, not a test):
python tests/bench_sudoku_gen.py [SECONDS]

For SECONDS (default 5) per tier, generates puzzles on one core and prints puzzles per second
(CPU time, which a busy machine does not distort, and wall time), mean givens and mean
guesses; then times the exact solver on the extreme puzzles it made.
"""

from __future__ import annotations

import random
import sys
import time

from trm_tool.puzzles import sudoku


def bench_tier(tier: str, seconds: float) -> tuple[str, list]:
    rng = random.Random(f"bench/{tier}")
    made = []
    cpu, wall = time.process_time(), time.perf_counter()
    while time.process_time() - cpu < seconds:
        made.append(sudoku.generate(rng, tier))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    givens = sum(d != 0 for puzzle, _ in made for row in puzzle.grid for d in row) / len(made)
    guesses = sum(sudoku.difficulty(puzzle.grid) for puzzle, _ in made) / len(made)
    line = (
        f"{tier:>8}: {len(made) / cpu:7.1f} puzzles/s CPU ({len(made) / wall:7.1f} wall)  "
        f"mean {givens:4.1f} givens, {guesses:4.1f} guesses"
    )
    return line, made


def bench_solver(made: list) -> str:
    times = []
    for puzzle, solution in made:
        start = time.process_time()
        report = sudoku.solve_exact(puzzle.grid, max_solutions=1)
        times.append(time.process_time() - start)
        assert report.solutions == [solution]
    times.sort()
    mean = sum(times) / len(times)
    return (
        f"exact solver on {len(times)} extreme puzzles: mean {mean * 1000:.2f} ms, "
        f"median {times[len(times) // 2] * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms (CPU)"
    )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    made = []
    for tier in sudoku.TIERS:
        line, made = bench_tier(tier, seconds)
        print(line, flush=True)
    print(bench_solver(made), flush=True)


if __name__ == "__main__":
    main()
