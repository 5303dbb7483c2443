"""Same weights, both runtimes: a paper-size official Sudoku TRM (a script, not a test):
python tests/bench_official.py [--batches 1,4] [--threads 2]

Writes a checkpoint exactly as official training saves it for the paper's Sudoku TRM-MLP
(hidden 512, 2 layers, T=3, n=6, N_sup 16, a [1, 512] puzzle table with 16 prefix positions,
5.0M parameters; random weights with the official halting-head init, weight 0 and bias -5,
and H_init/L_init in bfloat16), imports it with `trm-tool import-official`, and times on
generated extreme Sudokus:
  - always 16 supervision steps, as official evaluation runs (per puzzle at each batch size),
  - the same weights with early halting on (and checks every answer equals the answer the
    16-step run had at the step it stopped at),
  - one tool call through `load_solver` (one view, no second round, no time budget).
Wall time and CPU time are both printed: CPU time is what a busy machine does not distort.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import torch

from trm_tool import load_solver
from trm_tool.cli import main as trm_tool
from trm_tool.model import TRM, count_parameters
from trm_tool.official_weights import (
    KIND_RECIPE,
    RECIPE,
    OfficialConfig,
    official_key,
    to_trm_config,
)
from trm_tool.puzzles import sudoku

PAPER_SUDOKU = {
    **RECIPE,
    **KIND_RECIPE["sudoku"],
    "vocab_size": 11,
    "hidden_size": 512,
    "L_layers": 2,
    "puzzle_emb_ndim": 512,
    "num_puzzle_identifiers": 1,
}
OFFICIAL_CODE_S_PER_PUZZLE = 11.3
"""The official code on this machine: 16 steps, batch 16, 2 threads (issue 17)."""


def write_official_checkpoint(path: Path, seed: int) -> None:
    """Random paper-size weights under official key names, as official training saves them."""
    torch.manual_seed(seed)
    model = TRM(to_trm_config(OfficialConfig.model_validate(PAPER_SUDOKU), "sudoku"))
    state = {}
    for name, value in model.state_dict().items():
        key = official_key(name)
        state["_orig_mod.model.inner." + key] = (
            value.bfloat16() if key in ("H_init", "L_init") else value
        )
    torch.save(state, path)


def timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        step = Path(tmp) / "step_0"
        write_official_checkpoint(step, args.seed)
        assert trm_tool(["import-official", str(step), "--kind", "sudoku", "--out", tmp]) == 0
        solver = load_solver(
            "sudoku", checkpoint=tmp, device="cpu", views=1, retry_views=0, max_seconds=0
        )
    model, steps = solver.model, solver.model.config.max_supervision_steps
    rng = random.Random(f"bench_official/{args.seed}")
    puzzles = [sudoku.generate(rng, "extreme")[0] for _ in range(max(batches))]
    tokens = torch.stack([sudoku.encode(p.grid) for p in puzzles])
    ids = torch.zeros(len(puzzles), dtype=torch.long)
    print(f"{count_parameters(model):,} parameters, {args.threads} threads, {steps} steps max")
    for batch in batches:
        every, cpu, wall = timed(
            lambda b=batch: model.predict(tokens[:b], ids[:b], steps, early_halting=False)
        )
        print(
            f"batch {batch:3d}, always {steps} steps: {wall / batch:6.1f} s/puzzle wall "
            f"({batch / wall:.3f} puzzles/s), {cpu / batch:6.1f} CPU-s/puzzle"
        )
        early, cpu, wall = timed(lambda b=batch: model.predict(tokens[:b], ids[:b], steps))
        same = all(
            torch.equal(
                early.tokens[i],
                every.tokens[i]
                if int(early.steps[i]) == steps
                else model.predict(
                    tokens[i : i + 1], ids[i : i + 1], int(early.steps[i]), False
                ).tokens[0],
            )
            for i in range(batch)
        )
        print(
            f"batch {batch:3d}, early halting:  {wall / batch:6.1f} s/puzzle wall, "
            f"{cpu / batch:6.1f} CPU-s/puzzle, mean {early.steps.float().mean():.1f} steps, "
            f"same answers as the 16-step run at those steps: {same}"
        )
    result, cpu, wall = timed(lambda: solver.solve(sudoku.question_text(puzzles[0])))
    print(
        f"one tool call (load_solver, 1 view): {wall:.1f} s wall, {cpu:.1f} CPU-s, "
        f"{result.steps} steps, verified {result.verified}; the official code: "
        f"{OFFICIAL_CODE_S_PER_PUZZLE} s/puzzle (16 steps, batch 16)"
    )


if __name__ == "__main__":
    main()
