"""Per-family validation of checkpoints: the table promotion is decided on.

    python evals/validate.py --kind sudoku --n 100 \\
        --checkpoints shipped,training/sudoku_sparse/sudoku.safetensors
    python evals/validate.py --kind maze --n 30 --families "perfect/30x30,maze-dataset dfs 29"

For every family (see evals/families.py: our generator's tiers and styles, the held-out part of
training material, sets made by others) and checkpoint: the share of answers that pass the
kind's exact check (or equal the label where there is none), with a 95% interval. A `*` marks a
family that was NOT in the checkpoint's training mix (its last run's tiers, less the generator
families that run left out with `--leave-out`; lineage in its card): those cells say whether
the recipe learned the task or the families. Generated families use the validation seed,
apart from the training stream and the held-out test seed.

Promotion rule: a new checkpoint replaces the shipped one only when its worst family improves.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from evals.families import FAMILIES, VALIDATION_SEED, Family, Pairs
from trm_tool.checkpoint import HeldOutResult, load_card, resolve, save_card
from trm_tool.data import wilson_interval
from trm_tool.solver import load_solver
from trm_tool.solver.policy import COMMIT_SHARE


def score(solver, pairs: Pairs, one_call_each: bool) -> int:
    """How many answers pass the exact check (or equal the label where there is none). With
    `one_call_each`, every puzzle is its own call with its own budget, as a user calls the tool;
    else one batched call shares the budget of all."""
    puzzles = [puzzle for puzzle, _ in pairs]
    budget = solver.policy.max_seconds
    if one_call_each:
        results = [solver.solve_puzzles([p], max_seconds=budget)[0] for p in puzzles]
    else:
        results = solver.solve_puzzles(puzzles, max_seconds=budget)
    return sum(
        (r.grid == solution) if r.verified is None else bool(r.verified)
        for r, (_, solution) in zip(results, pairs)
    )


def training_mix(kind: str, checkpoint: str | None) -> tuple[list[str], list[str]]:
    """The tiers of the last training run behind a checkpoint and the generator families it
    left out, from its card."""
    config = load_card(resolve(kind, checkpoint)).training.get("config", {})
    return list(config.get("tiers") or []), list(config.get("leave_out") or [])


def cell(right: int, n: int, left_out: bool) -> str:
    low, high = wilson_interval(right, n)
    mark = "*" if left_out else " "
    return f"{right / n:5.0%}{mark} [{low:.2f}, {high:.2f}]"


def record(kind: str, checkpoint: str | None, rows: list[HeldOutResult]) -> None:
    """Replace the per-family table in a checkpoint's card."""
    path = resolve(kind, checkpoint)
    card = load_card(path)
    save_card(path, card.model_copy(update={"families": rows}))


def validate(
    kind: str,
    families: list[Family],
    checkpoints: list[str],
    n: int,
    seed: int,
    solver_options: dict,
    command: str = "",
    commit_share: float = COMMIT_SHARE,
    one_call_each: bool = False,
) -> dict[str, list[HeldOutResult]]:
    """Print the table (families as rows, checkpoints as columns); return each checkpoint's
    rows, ready for its card."""
    sets = {family.name: family.draw(n, seed) for family in families}
    results: dict[str, list[HeldOutResult]] = {}
    width = max(len(family.name) for family in families)
    print(f"{'family':<{width}}  " + "  ".join(f"{c[-28:]:>24}" for c in checkpoints))
    rows = {family.name: f"{family.name:<{width}}" for family in families}
    for checkpoint in checkpoints:
        path = None if checkpoint == "shipped" else checkpoint
        tiers, left_out_families = training_mix(kind, path)
        solver = load_solver(kind, path, **solver_options)
        solver.policy = dataclasses.replace(solver.policy, commit_share=commit_share)
        start = time.perf_counter()
        results[checkpoint] = []
        for family in families:
            pairs = sets[family.name]
            right = score(solver, pairs, one_call_each)
            left_out = not family.in_mix(tiers, left_out_families)
            rows[family.name] += "  " + cell(right, len(pairs), left_out)
            extra = {
                "in_training_mix": not left_out,
                "seed": seed,
                "commit_share": commit_share,
                "one_call_each": one_call_each,
                **solver_options,
            }
            result = HeldOutResult(
                split=family.name, n=len(pairs), exact=right / len(pairs), command=command
            )
            results[checkpoint].append(result.model_copy(update={"extra": extra}))
        print(
            f"# {checkpoint}: {time.perf_counter() - start:.0f} s, training tiers {tiers}"
            + (f", families left out {left_out_families}" if left_out_families else "")
        )
    print("\n".join(rows.values()))
    for checkpoint, found in results.items():
        worst = min(found, key=lambda r: r.exact)
        print(f"worst family of {checkpoint}: {worst.split} {worst.exact:.0%}")
    return results


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--kind", required=True, choices=sorted(FAMILIES))
    p.add_argument("--families", help="comma-separated family names (default: all of the kind's)")
    p.add_argument("--n", type=int, default=100, help="puzzles per family")
    p.add_argument("--checkpoints", default="shipped", help="comma-separated; shipped = ours")
    p.add_argument("--views", type=int, default=1, help="test-time views per puzzle")
    p.add_argument("--retry-views", type=int, default=0, help="views per retry round for misses")
    p.add_argument("--max-seconds", type=float, default=0, help="budget per puzzle (0: none)")
    p.add_argument(
        "--max-steps", type=int, default=None, help="supervision steps per view (default: trained)"
    )
    p.add_argument(
        "--commit-share",
        type=float,
        default=COMMIT_SHARE,
        help="share of the blanks each retry round commits (Sudoku; 0: none)",
    )
    p.add_argument(
        "--one-call-each",
        action="store_true",
        help="each puzzle its own call with its own budget, as a user calls the tool",
    )
    p.add_argument("--seed", type=int, default=VALIDATION_SEED)
    p.add_argument("--device", default="cpu")
    p.add_argument("--record", action="store_true", help="write each table into its card")
    args = p.parse_args(argv)
    families = FAMILIES[args.kind]()
    if args.families:
        wanted = args.families.split(",")
        unknown = set(wanted) - {f.name for f in families}
        if unknown:
            p.error(f"unknown families {sorted(unknown)}; known: {[f.name for f in families]}")
        families = [f for f in families if f.name in wanted]
    options = {
        "device": args.device,
        "views": args.views,
        "retry_views": args.retry_views,
        "max_seconds": args.max_seconds,
        "max_steps": args.max_steps,
    }
    checkpoints = args.checkpoints.split(",")
    given = argv if argv is not None else sys.argv[1:]
    command = "python evals/validate.py " + " ".join(a for a in given if a != "--record")
    results = validate(
        args.kind,
        families,
        checkpoints,
        args.n,
        args.seed,
        options,
        command,
        args.commit_share,
        args.one_call_each,
    )
    if args.record:
        for checkpoint, rows in results.items():
            record(args.kind, None if checkpoint == "shipped" else checkpoint, rows)


if __name__ == "__main__":
    main()
