"""Choose between checkpoints on a validation set: never on the held-out test tiers bench
reports, never on the external sets.

    python evals/validate.py --kind sudoku --tiers hard,extreme,deep --n 100 \\
        --checkpoints shipped,runs/sudoku_deep/sudoku.safetensors

Puzzles are generated fresh from the validation seed (`validation/<seed>/<kind>/<tier>`), apart
from the training stream's seeds and the held-out seed. Prints, per checkpoint and tier, the
share of answers that pass the kind's exact check, with one view (the raw model) unless asked.
"""

from __future__ import annotations

import argparse
import random
import time

from trm_tool.data import wilson_interval
from trm_tool.puzzles import Grid, Puzzle, PuzzleKind, get_kind
from trm_tool.solver import load_solver

VALIDATION_SEED = 12345


def validation_set(kind: PuzzleKind, tier: str, n: int, seed: int = VALIDATION_SEED) -> list:
    """n fresh (puzzle, solution) pairs of `tier` from the validation seed."""
    rng = random.Random(f"validation/{seed}/{kind.name}/{tier}")
    return [kind.generate(rng, tier) for _ in range(n)]


def score(solver, pairs: list[tuple[Puzzle, Grid]]) -> int:
    """How many answers pass the exact check (or equal the label where there is none)."""
    results = solver.solve_puzzles([puzzle for puzzle, _ in pairs])
    return sum(
        (r.grid == solution) if r.verified is None else r.verified
        for r, (_, solution) in zip(results, pairs)
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--kind", required=True)
    p.add_argument("--tiers", help="comma-separated tiers (default: all of the kind's)")
    p.add_argument("--n", type=int, default=100, help="puzzles per tier")
    p.add_argument("--checkpoints", default="shipped", help="comma-separated; shipped = ours")
    p.add_argument("--views", type=int, default=1)
    p.add_argument("--seed", type=int, default=VALIDATION_SEED)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    kind = get_kind(args.kind)
    tiers = args.tiers.split(",") if args.tiers else list(kind.tiers)
    sets = {tier: validation_set(kind, tier, args.n, args.seed) for tier in tiers}
    for checkpoint in args.checkpoints.split(","):
        path = None if checkpoint == "shipped" else checkpoint
        solver = load_solver(args.kind, path, args.device, args.views, retry_views=0, max_seconds=0)
        start = time.perf_counter()
        cells = []
        for tier, pairs in sets.items():
            right = score(solver, pairs)
            low, high = wilson_interval(right, len(pairs))
            cells.append(f"{tier} {right / len(pairs):.0%} [{low:.2f}, {high:.2f}]")
        seconds = time.perf_counter() - start
        print(f"{checkpoint} ({args.views} view(s), {seconds:.0f} s): " + "; ".join(cells))


if __name__ == "__main__":
    main()
