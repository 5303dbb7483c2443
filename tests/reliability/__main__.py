"""Benches that print figures (issue 27), run from the repository root:

python -m tests.reliability fuzz [--per-kind 100000] [--minutes-per-kind 2] [--kinds auto ...]
python -m tests.reliability soak [--minutes 5]
python -m tests.reliability busy [--fit-seconds 10]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

from .fuzz import FAMILIES, KINDS, Tally, check, valid_texts, warm_up
from .load import burst, closed_loop, hang_up, open_loop, resources, wait_idle
from .serving import serve_process


def bench_fuzz(kinds: list[str], per_kind: int, minutes_per_kind: float, seed: int) -> None:
    """Inputs from every family through every parser, until `per_kind` or the time is up."""
    warm_up()
    names = sorted(FAMILIES)
    for kind in kinds:
        tally, rng = Tally(), random.Random(seed)
        families: Counter[str] = Counter()
        until = time.monotonic() + 60 * minutes_per_kind
        while tally.inputs < per_kind and time.monotonic() < until:
            name = names[tally.inputs % len(names)]
            families[name] += 1
            check(kind, FAMILIES[name](rng), tally)
        print(
            f"{kind}: {tally.inputs:,} inputs ({tally.accepted:,} accepted, {tally.rejected:,} "
            f"rejected, {tally.unsolvable_accepted} accepted but without an exact solution); "
            f"slowest answer {tally.slowest_s * 1000:.0f} ms CPU "
            f"({tally.slowest_wall_s * 1000:.0f} ms wall) on {tally.slowest_input[:50]!r}; "
            f"failures: {len(tally.failures)}",
            flush=True,
        )
        for failure in tally.failures:
            print("   ", failure)


def bench_soak(minutes: float, max_in_flight: int, seed: int) -> None:
    """Unloaded latency, capacity, a burst, then `minutes` at twice the capacity with bad
    requests and hang-ups mixed in, then unloaded again; the server's resources before/after."""
    log = Path(tempfile.mkdtemp()) / "serve.log"
    args = ("--max-in-flight", str(max_in_flight), "--device", "cpu")
    with serve_process(*args, log=log, env={"OMP_NUM_THREADS": "1"}) as (url, process):
        closed_loop(url, 5, 1, seed, "warm-up")
        start = resources(process.pid)
        print(f"resources at start: {start}", flush=True)
        before = closed_loop(url, 30, 1, seed, "unloaded (1 client)")
        print(before.summary(), flush=True)
        capacity = closed_loop(url, 30, max_in_flight, seed + 1, "capacity")
        rate = sum(o.status == 200 for o in capacity.outcomes) / capacity.seconds
        print(f"{capacity.summary()}; sustained {rate:.2f} solves/s", flush=True)
        statuses = Counter(o.status for o in burst(url, 10 * max_in_flight, seed))
        print(f"burst of {10 * max_in_flight}: {dict(statuses)}", flush=True)
        wait_idle(url)
        for index in range(5):
            body = {"kind": "maze", "puzzle": valid_texts("maze")[index]}
            hang_up(url, json.dumps(body).encode())
        print(f"5 hang-ups: no solve in flight after {wait_idle(url):.1f} s", flush=True)
        soak = open_loop(url, 60 * minutes, 2 * rate, seed + 2, f"soak at {2 * rate:.2f}/s")
        print(soak.summary(), flush=True)
        print(f"idle again after {wait_idle(url):.1f} s; resources {resources(process.pid)}")
        after = closed_loop(url, 30, 1, seed + 3, "unloaded again (1 client)")
        print(after.summary(), flush=True)
        print(f"resources at start: {start}; at end: {resources(process.pid)}")
        statuses = Counter(o.status for o in soak.outcomes)
        bad = {s: n for s, n in statuses.items() if s not in (200, 422, 503)}
        print(f"statuses other than 200/422/503 during the soak: {bad or 'none'}")


BUSY_LOOP = "while True: pass"


def bench_busy(fit_seconds: float, solves: int) -> None:
    """Sudoku tool-call latency and ARC fit steps with 0, 1 and 2 cores kept busy by other
    processes, at torch's default threads and at one thread."""
    from trm_tool.puzzles import Puzzle
    from trm_tool.puzzles.arc import task_text
    from trm_tool.solver import load_solver

    default_threads = torch.get_num_threads()
    sudoku, arc = load_solver("sudoku", device="cpu"), load_solver("arc", device="cpu")
    texts = valid_texts("sudoku", solves)
    demos = [
        ([[1, 2, 0], [0, 1, 2]], [[2, 1, 0], [0, 2, 1]]),
        ([[2, 2, 1], [1, 0, 0]], [[1, 1, 2], [2, 0, 0]]),
        ([[0, 1], [2, 1], [1, 1]], [[0, 2], [1, 2], [2, 2]]),
    ]
    task = task_text(Puzzle(kind="arc", grid=[[1, 0, 2], [2, 2, 1]], examples=demos))
    print(f"torch default threads: {default_threads}; busy loops: {BUSY_LOOP!r}")
    print("busy cores | threads | sudoku solve p50 ms | ARC fit steps/s (steps in s)")
    for busy in (0, 1, 2):
        loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(busy)]
        try:
            for threads in (default_threads, 1):
                sudoku.threads = arc.threads = threads  # what the solvers set while they run
                sudoku.solve(texts[0])
                ms = [sudoku.solve(t).latency_ms for t in texts]
                arc.source.fitted.clear()
                fit = arc.solve(task, max_seconds=fit_seconds).fit
                print(
                    f"{busy} | {threads} | {statistics.median(ms):.0f} | "
                    f"{fit.steps / fit.seconds:.1f} ({fit.steps} in {fit.seconds:.1f}; "
                    f"{fit.stopped})",
                    flush=True,
                )
        finally:
            for loop in loops:
                loop.kill()
                loop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability")
    sub = parser.add_subparsers(dest="bench", required=True)
    fuzz = sub.add_parser("fuzz", help="parsers at volume")
    fuzz.add_argument("--per-kind", type=int, default=100_000)
    fuzz.add_argument("--minutes-per-kind", type=float, default=30)
    fuzz.add_argument("--seed", type=int, default=0)
    fuzz.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    soak = sub.add_parser("soak", help="trm-tool serve at twice its capacity")
    soak.add_argument("--minutes", type=float, default=10)
    soak.add_argument("--max-in-flight", type=int, default=2)
    soak.add_argument("--seed", type=int, default=0)
    busy = sub.add_parser("busy", help="latency and fit steps next to busy cores")
    busy.add_argument("--fit-seconds", type=float, default=10)
    busy.add_argument("--solves", type=int, default=5)
    args = parser.parse_args()
    if args.bench == "fuzz":
        bench_fuzz(args.kinds, args.per_kind, args.minutes_per_kind, args.seed)
    elif args.bench == "soak":
        bench_soak(args.minutes, args.max_in_flight, args.seed)
    else:
        bench_busy(args.fit_seconds, args.solves)


if __name__ == "__main__":
    main()
