"""Maze accuracy by maze style and size: where a maze checkpoint fails, not just how often.

    python evals/maze_styles.py --sides 10-15 --n 60                # shipped model, 1 view
    python evals/maze_styles.py --checkpoint runs/x/maze.safetensors --views 8 --retry-views 16
    python evals/maze_styles.py --sides 30-30 --styles random_walls --min-path 111  # Maze-Hard-like
    python evals/maze_styles.py --sides 30-30 --styles random_walls --min-path 111 --max-steps 16

Mazes come from their own seeds (not the training stream's, not the held-out seed): the
validation seed for choosing between checkpoints, the test seed (`--seed 2026`) once for the
final figure of the chosen one. The styles (see `maze.generate_maze`) come in turn; each maze
draws its wall ring, end placement and ties at random. Sides are drawn from --sides for height
and width separately. An answer counts when it passes the exact check (any shortest route).
Prints accuracy per style with a 95% Wilson interval.
"""

from __future__ import annotations

import argparse
import random
import time

from trm_tool.data import wilson_interval
from trm_tool.puzzles import maze
from trm_tool.solver import load_solver

VALIDATION_SEED = 12345
TEST_SEED = 2026
"""For the final figure of a model chosen on the validation seed: never used to choose."""


def maze_set(
    n: int,
    sides: tuple[int, int],
    styles: tuple[str, ...] = maze.STYLES,
    min_path: int | None = None,
    seed: int = VALIDATION_SEED,
) -> list[tuple]:
    """n (style, puzzle, solution) triples, styles in turn, sides drawn from `sides`."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        style = styles[i % len(styles)]
        height, width = rng.randint(*sides), rng.randint(*sides)
        out.append((style, *maze.generate_maze(rng, height, width, style, min_path=min_path)))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--checkpoint", help="default: the shipped maze checkpoint")
    p.add_argument("--sides", default="10-15", help="side range, e.g. 10-15")
    p.add_argument("--n", type=int, default=60, help="mazes in all, shared by the styles")
    p.add_argument("--styles", default=",".join(maze.STYLES))
    p.add_argument("--min-path", type=int, help="fewest route cells (default: the generator's)")
    p.add_argument("--views", type=int, default=1)
    p.add_argument("--retry-views", type=int, default=0)
    p.add_argument("--max-steps", type=int, help="supervision-step budget (default: the model's)")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--seed",
        type=int,
        default=VALIDATION_SEED,
        help=f"maze set seed (default {VALIDATION_SEED}, for choosing models; {TEST_SEED} to test)",
    )
    args = p.parse_args(argv)
    low, high = (int(side) for side in args.sides.split("-"))
    styles = tuple(args.styles.split(","))
    solver = load_solver(
        "maze",
        args.checkpoint,
        args.device,
        views=args.views,
        max_steps=args.max_steps,
        retry_views=args.retry_views,
    )
    mazes = maze_set(args.n, (low, high), styles, args.min_path, args.seed)
    start = time.perf_counter()
    results = solver.solve_puzzles([puzzle for _, puzzle, _ in mazes])
    seconds = time.perf_counter() - start
    print(
        f"sides {args.sides}, seed {args.seed}, {args.views} view(s) + {args.retry_views} retry,"
        f" {seconds:.0f} s"
    )
    for style in (*styles, "all"):
        right = [bool(r.verified) for (st, _, _), r in zip(mazes, results) if style in (st, "all")]
        if not right:
            continue
        low_ci, high_ci = wilson_interval(sum(right), len(right))
        print(
            f"{style:>13}: {sum(right)}/{len(right)} = {sum(right) / len(right):.0%}"
            f"  [{low_ci:.2f}, {high_ci:.2f}]"
        )


if __name__ == "__main__":
    main()
