"""`trm-tool bench`: held-out accuracy and speed of a checkpoint, printed as numbers.

Accuracy is measured on the fixed held-out set of a tier (never trained on), once with a
single view and once with test-time augmentation voting. Speed: puzzles/s and latency at
batch 1, puzzles/s at the best of a few batch sizes, early halting against running every
supervision step, tool calls one by one against concurrently (dynamic batching), and peak
memory.
"""

from __future__ import annotations

import multiprocessing
import random
import resource
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from pydantic import BaseModel

from .checkpoint import HeldOutResult, ModelCard, sha256_of, shipped
from .data import held_out, wilson_interval
from .external import PuzzleSet
from .journal import append_outcome, read_journal
from .solver import Solver


class AccuracyRow(BaseModel):
    tier: str
    views: int
    retry_views: int = 0
    """Fresh views of a second round for puzzles none of whose views verified."""
    n: int
    exact: float
    ci95: tuple[float, float]
    verified: float | None
    pass_at_2: float
    mean_steps: float
    tasks: int | None = None
    """Distinct tasks (ARC), where test pairs group into tasks."""
    task_pass_at_2: float | None = None
    """ARC's official score: per task the share of its test outputs right within two
    attempts, averaged over tasks."""


class SpeedRow(BaseModel):
    batch: int
    puzzles_per_s: float
    p50_ms: float


def accuracy(
    solver: Solver, tier: str, n: int, views: int, max_steps: int | None, retry_views: int = 0
) -> AccuracyRow:
    """Exact-match accuracy (and verified rate, pass@2) on the held-out set of a tier."""
    pairs = held_out(solver.kind, tier, n)
    exact = verified = top2 = steps = 0
    checkable = False
    by_task: dict[str, list[bool]] = {}
    for start in range(0, len(pairs), 64):
        chunk = pairs[start : start + 64]
        results = solver.solve_puzzles(
            [p for p, _ in chunk], max_steps=max_steps, views=views, retry_views=retry_views
        )
        for (puzzle, solution), result in zip(chunk, results):
            exact += result.grid == solution
            top2 += solution in result.attempts[:2]
            verified += bool(result.verified)
            checkable |= result.verified is not None
            steps += result.steps
            if puzzle.task_id:
                by_task.setdefault(puzzle.task_id, []).append(solution in result.attempts[:2])
    task_scores = [sum(right) / len(right) for right in by_task.values()]
    low, high = wilson_interval(exact, len(pairs))
    return AccuracyRow(
        tier=tier,
        views=views,
        retry_views=retry_views,
        n=len(pairs),
        exact=round(exact / len(pairs), 4),
        ci95=(round(low, 4), round(high, 4)),
        verified=round(verified / len(pairs), 4) if checkable else None,
        pass_at_2=round(top2 / len(pairs), 4),
        mean_steps=round(steps / len(pairs), 2),
        tasks=len(by_task) or None,
        task_pass_at_2=round(sum(task_scores) / len(task_scores), 4) if task_scores else None,
    )


class ExternalRow(BaseModel):
    """A set we did not generate, solved as a user's tool calls are: one puzzle per call with
    the solver's settings (views, second round, time budget), judged by the exact check."""

    set: str
    source: str
    n: int
    solved: float
    """Share whose answer passes the kind's exact check (any shortest route for mazes)."""
    ci95: tuple[float, float]
    views: int
    retry_views: int
    max_seconds: float
    max_steps: int | None = None
    """Supervision steps per view, where a call asked for other than the model's own."""
    cut_short: int
    """Calls the time budget cut short."""
    p50_ms: float
    p95_ms: float
    max_ms: float


def external_accuracy(
    solver: Solver, puzzles: PuzzleSet, views: int | None = None, retry_views: int | None = None
) -> ExternalRow:
    """Solve every puzzle of the set as one tool call each (the text as a user would paste it),
    with the solver's policy but for the views given."""
    policy = solver.policy.but(views=views, retry_views=retry_views)
    solved = cut = 0
    latencies = []
    for puzzle in puzzles.puzzles:
        text = solver.kind.question_text(puzzle)
        result = solver.solve(text, views=policy.views, retry_views=policy.retry_views)
        solved += bool(result.verified)
        cut += result.cut_short is not None
        latencies.append(result.latency_ms)
    low, high = wilson_interval(solved, len(latencies))
    latencies.sort()
    return ExternalRow(
        set=puzzles.name,
        source=puzzles.source,
        n=len(latencies),
        solved=round(solved / len(latencies), 4),
        ci95=(round(low, 4), round(high, 4)),
        views=policy.views,
        retry_views=policy.retry_views,
        max_seconds=policy.max_seconds,
        max_steps=policy.max_steps,
        cut_short=cut,
        p50_ms=round(statistics.median(latencies), 1),
        p95_ms=round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1),
        max_ms=round(latencies[-1], 1),
    )


def format_external(rows: list[ExternalRow]) -> str:
    lines = ["set                              n   solved  95% CI            cut  p50 ms  p95 ms"]
    for r in rows:
        ci = f"[{r.ci95[0]:.3f}, {r.ci95[1]:.3f}]"
        lines.append(
            f"{r.set:<30} {r.n:>4}   {r.solved:.3f}  {ci:<17} {r.cut_short:>4} {r.p50_ms:>7.0f} "
            f"{r.p95_ms:>7.0f}"
        )
    first = rows[0]
    lines.append(
        f"(one call per puzzle: {first.views} views + {first.retry_views} retry views, time "
        f"budget {first.max_seconds:g} s per call"
        + (f", supervision steps per view: {first.max_steps})" if first.max_steps else ")")
    )
    return "\n".join(lines)


def recorded_external(card: ModelCard, rows: list[ExternalRow], command: str) -> ModelCard:
    """The card with these external sets' results, replacing earlier results of the same sets."""
    fresh = [
        HeldOutResult(
            split=row.set,
            n=row.n,
            exact=row.solved,
            command=command,
            extra=row.model_dump(exclude={"set", "n", "solved"}),
        )
        for row in rows
    ]
    kept = [r for r in card.external if r.split not in {row.set for row in rows}]
    return card.model_copy(update={"external": kept + fresh})


def median_seconds(run, device: torch.device, repeats: int) -> tuple[float, object]:
    """Median wall-clock seconds of `run()` over `repeats` calls (GPU work waited for), and
    what the last call returned."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def speed(solver: Solver, tier: str, batch: int, repeats: int) -> SpeedRow:
    """Throughput of solve_puzzles at one batch size (single view, as a raw model measure)."""
    puzzles = [p for p, _ in held_out(solver.kind, tier, batch)]
    solver.solve_puzzles(puzzles[:1], views=1, retry_views=0)  # warm-up
    median, _ = median_seconds(
        lambda: solver.solve_puzzles(puzzles, views=1, retry_views=0), solver.device, repeats
    )
    return SpeedRow(
        batch=batch, puzzles_per_s=round(batch / median, 1), p50_ms=round(median * 1e3, 1)
    )


class HaltingRow(BaseModel):
    """Early halting against the reference way (every example runs all N_sup steps)."""

    batch: int
    steps_budget: int
    early_halting_puzzles_per_s: float
    all_steps_puzzles_per_s: float
    speedup: float
    early_halting_exact: float
    all_steps_exact: float


def halting_gain(solver: Solver, tier: str, batch: int, repeats: int = 3) -> HaltingRow:
    """Raw model throughput (one view) with and without per-example early halting, and the
    exact accuracy of each on the same held-out batch."""
    pairs = held_out(solver.kind, tier, batch)
    grids = [puzzle.grid for puzzle, _ in pairs]

    def measure(early_halting: bool) -> tuple[float, float]:
        median, predictions = median_seconds(
            lambda: solver.predict(grids, early_halting=early_halting), solver.device, repeats
        )
        right = sum(
            solver.kind.decode(tokens) == solution
            for (tokens, *_), (_, solution) in zip(predictions, pairs)
        )
        return len(pairs) / median, right / len(pairs)

    fast, fast_exact = measure(True)
    slow, slow_exact = measure(False)
    return HaltingRow(
        batch=len(pairs),
        steps_budget=solver.model.config.max_supervision_steps,
        early_halting_puzzles_per_s=round(fast, 1),
        all_steps_puzzles_per_s=round(slow, 1),
        speedup=round(fast / slow, 2),
        early_halting_exact=round(fast_exact, 4),
        all_steps_exact=round(slow_exact, 4),
    )


class ConcurrencyRow(BaseModel):
    """Tool calls as an agent makes them (`Solver.solve(text)` with test-time augmentation):
    one after another, then all at once from as many threads."""

    calls: int
    views: int
    call_p50_ms: float
    sequential_calls_per_s: float
    concurrent_calls_per_s: float
    gain: float
    mean_batch: float
    """Mean number of calls the solver's worker merged into one batch, concurrently."""


def concurrency_gain(solver: Solver, tier: str, calls: int = 32, views: int = 8) -> ConcurrencyRow:
    """Throughput of `calls` distinct held-out puzzles solved sequentially vs concurrently
    (one round of views, so both ways do the same work)."""
    texts = [solver.kind.question_text(p) for p, _ in held_out(solver.kind, tier, calls)]

    def call(text: str):
        return solver.solve(text, views=views, retry_views=0)

    call(texts[0])  # warm-up
    latencies = []
    start = time.perf_counter()
    for text in texts:
        latencies.append(call(text).latency_ms)
    sequential = time.perf_counter() - start
    first_batch = len(solver.batch_sizes)
    start = time.perf_counter()
    with ThreadPoolExecutor(calls) as pool:
        list(pool.map(call, texts))
    concurrent = time.perf_counter() - start
    batches = solver.batch_sizes[first_batch:]
    return ConcurrencyRow(
        calls=calls,
        views=views,
        call_p50_ms=round(statistics.median(latencies), 1),
        sequential_calls_per_s=round(calls / sequential, 2),
        concurrent_calls_per_s=round(calls / concurrent, 2),
        gain=round(sequential / concurrent, 2),
        mean_batch=round(sum(batches) / len(batches), 1),
    )


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(
    solver: Solver,
    tiers: list[str],
    n: int,
    views: list[int],
    batches: list[int],
    max_steps: int | None = None,
    retry_views: int = 0,
) -> dict:
    """The whole benchmark as one JSON-able dict. Accuracy per tier at each view count, plus
    the most views with a second round of `retry_views` for misses (when > 0)."""
    settings = [(v, 0) for v in views] + ([(max(views), retry_views)] if retry_views else [])
    rows = [accuracy(solver, t, n, v, max_steps, r) for t in tiers for v, r in settings]
    speeds = [speed(solver, tiers[-1], b, repeats=3 if b > 1 else 20) for b in batches]
    halting = halting_gain(solver, tiers[0], max(batches))
    concurrency = concurrency_gain(solver, tiers[0], views=max(views))
    return {
        "kind": solver.kind.name,
        "device": str(solver.device),
        "checkpoint_sha256": solver.card.sha256,
        "accuracy": [r.model_dump() for r in rows],
        "speed": [s.model_dump() for s in speeds],
        "halting": halting.model_dump(),
        "concurrency": concurrency.model_dump(),
        "peak_memory_mb": round(peak_memory_mb(solver.device), 1),
        "torch_threads": torch.get_num_threads(),
    }


def format_table(report: dict) -> str:
    lines = [
        f"{report['kind']} on {report['device']} (peak memory {report['peak_memory_mb']} MB)",
        "tier        views      n   exact   95% CI            verified  pass@2  mean steps",
    ]
    for r in report["accuracy"]:
        ci = f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]"
        verified = "-" if r["verified"] is None else f"{r['verified']:.3f}"
        views = f"{r['views']}+{r['retry_views']}" if r["retry_views"] else str(r["views"])
        lines.append(
            f"{r['tier']:<11} {views:>5} {r['n']:>6}   {r['exact']:.3f}   {ci:<17} "
            f"{verified:>8}  {r['pass_at_2']:.3f}  {r['mean_steps']:>10.2f}"
        )
        if r["tasks"]:
            lines.append(
                f"{'':<11} per task: {r['tasks']} tasks, pass@2 score {r['task_pass_at_2']:.4f}"
            )
    lines.append("batch   puzzles/s   median ms per batch")
    for s in report["speed"]:
        lines.append(f"{s['batch']:>5}   {s['puzzles_per_s']:>9.1f}   {s['p50_ms']:>10.1f}")
    h = report["halting"]
    lines.append(
        f"early halting at batch {h['batch']}: {h['early_halting_puzzles_per_s']:.1f} puzzles/s "
        f"(exact {h['early_halting_exact']:.3f}) vs all {h['steps_budget']} steps "
        f"{h['all_steps_puzzles_per_s']:.1f} puzzles/s (exact {h['all_steps_exact']:.3f}): "
        f"{h['speedup']:.2f}x"
    )
    c = report["concurrency"]
    lines.append(
        f"{c['calls']} tool calls ({c['views']} views each): one call p50 {c['call_p50_ms']:.0f} "
        f"ms; sequential {c['sequential_calls_per_s']:.2f} calls/s, concurrent "
        f"{c['concurrent_calls_per_s']:.2f} calls/s (mean batch {c['mean_batch']:.1f}): "
        f"{c['gain']:.2f}x"
    )
    return "\n".join(lines)


def recorded_card(card: ModelCard, report: dict, command: str) -> ModelCard:
    """The card with its held-out results and speed replaced by this bench run's, each with
    the command that reproduces it."""
    results = [
        HeldOutResult(
            split=f"{report['kind']}/{row['tier']} held-out, views={row['views']}"
            + (f" + {row['retry_views']} retry views" if row["retry_views"] else ""),
            n=row["n"],
            exact=row["exact"],
            command=command,
            extra={
                k: v for k, v in row.items() if k not in ("tier", "n", "exact") and v is not None
            }
            | {"device": report["device"], "threads": report["torch_threads"]},
        )
        for row in report["accuracy"]
    ]
    training = card.training | {
        "speed": report["speed"],
        "halting": report["halting"],
        "concurrency": report["concurrency"],
        "peak_memory_mb": report["peak_memory_mb"],
    }
    return card.model_copy(update={"held_out": results, "training": training})


class TaskRow(BaseModel):
    """Tasks that are fitted at test time (ARC), one task per call as a user's tool calls
    are (fit, predict under each view, vote), on a seeded sample of a tier's evaluation tasks."""

    tier: str
    sample: str
    tasks: int
    max_seconds: float
    processes: int
    pass_at_2: float
    """Per task the share of its test outputs among the two attempts, averaged over tasks."""
    ci95: tuple[float, float]
    consistent: float
    """Share of tasks whose fitted network reproduces every demonstration."""
    mean_s: float
    p50_s: float
    max_s: float
    solved_tasks: list[str]


def task_sample(kind, tier: str, n: int, seed: int) -> list[list[tuple]]:
    """A seeded sample of n evaluation tasks of the tier (all when n is 0 or more than
    exist): per task its (puzzle, expected output) test pairs."""
    by_task: dict[str, list[tuple]] = {}
    for puzzle, answers in kind.evaluation_puzzles(tier):
        by_task.setdefault(puzzle.task_id, []).append((puzzle, answers[0]))
    tasks = sorted(by_task)
    if n and n < len(tasks):
        tasks = sorted(random.Random(f"tasks/{tier}/{seed}").sample(tasks, n))
    return [by_task[task] for task in tasks]


_worker_solver: Solver | None = None


def _start_worker(kind: str, checkpoint: str | None, max_seconds: float) -> None:
    global _worker_solver
    torch.set_num_threads(1)
    from .solver import load_solver

    _worker_solver = load_solver(kind, checkpoint, "cpu", max_seconds=max_seconds)


def _solve_task(pairs: list[tuple]) -> dict:
    """One task in a worker process: each test input solved as one call (the fit is shared)."""
    solver = _worker_solver
    start = time.perf_counter()
    right, reports = [], []
    for puzzle, expected in pairs:
        result = solver.solve(solver.kind.question_text(puzzle))
        right.append(expected in result.attempts[:2])
        reports.append(result.fit)
    return {
        "task_id": pairs[0][0].task_id,
        "score": sum(right) / len(right),
        "consistent": all(r.reproduced == r.demonstrations for r in reports),
        "seconds": time.perf_counter() - start,
    }


def task_accuracy(
    kind_name: str,
    checkpoint: str | None,
    tier: str,
    n: int,
    seed: int,
    max_seconds: float,
    processes: int = 2,
    log=print,
    journal: Path | None = None,
) -> TaskRow:
    """pass@2 over a seeded task sample, `processes` tasks at a time (one CPU thread each).
    With a `journal`, tasks it already holds for this model, tier and budget are not fitted
    again, and every finished task is added to it."""
    from .puzzles import get_kind

    tasks = task_sample(get_kind(kind_name), tier, n, seed)
    weights = sha256_of(Path(checkpoint) if checkpoint else shipped(kind_name))
    run = {"kind": kind_name, "sha256": weights, "tier": tier, "max_seconds": max_seconds}
    journaled = read_journal(journal, run) if journal else {}
    done = [journaled[t[0][0].task_id] for t in tasks if t[0][0].task_id in journaled]
    todo = [t for t in tasks if t[0][0].task_id not in journaled]
    if done:
        log(f"{len(done)} of {len(tasks)} tasks read from {journal}")
    context = multiprocessing.get_context("spawn")
    with context.Pool(
        processes, _start_worker, (kind_name, checkpoint, max_seconds), maxtasksperchild=None
    ) as pool:
        for outcome in pool.imap_unordered(_solve_task, todo):
            done.append(outcome)
            if journal:
                append_outcome(journal, outcome)
            log(
                f"[{len(done)}/{len(tasks)}] {outcome['task_id']}: pass@2 {outcome['score']:.2f}, "
                f"consistent {outcome['consistent']}, {outcome['seconds']:.0f} s"
            )
    total = sum(o["score"] for o in done)
    low, high = wilson_interval(round(total), len(done))
    seconds = sorted(o["seconds"] for o in done)
    return TaskRow(
        tier=tier,
        sample=f"{len(tasks)} tasks, seed {seed}" if n else f"all {len(tasks)} tasks",
        tasks=len(done),
        max_seconds=max_seconds,
        processes=processes,
        pass_at_2=round(total / len(done), 4),
        ci95=(round(low, 4), round(high, 4)),
        consistent=round(sum(o["consistent"] for o in done) / len(done), 4),
        mean_s=round(sum(seconds) / len(seconds), 1),
        p50_s=round(statistics.median(seconds), 1),
        max_s=round(seconds[-1], 1),
        solved_tasks=sorted(o["task_id"] for o in done if o["score"] > 0),
    )


def format_tasks(row: TaskRow) -> str:
    return (
        f"{row.tier}: {row.sample}, {row.max_seconds:.0f} s per task, {row.processes} processes\n"
        f"pass@2 {row.pass_at_2:.3f} (95% CI [{row.ci95[0]:.3f}, {row.ci95[1]:.3f}]); fit "
        f"reproduces every demonstration on {row.consistent:.3f} of tasks; per task mean "
        f"{row.mean_s:.0f} s, p50 {row.p50_s:.0f} s, max {row.max_s:.0f} s; solved: "
        + (", ".join(row.solved_tasks) or "none")
    )


def recorded_tasks(card: ModelCard, row: TaskRow, command: str) -> ModelCard:
    """The card with this task-sample result added (replacing one of the same tier/sample/
    budget)."""
    result = HeldOutResult(
        split=f"{card.kind}/{row.tier} evaluation tasks, {row.sample}, test-time fit "
        f"{row.max_seconds:.0f} s per task, pass@2",
        n=row.tasks,
        exact=row.pass_at_2,
        command=command,
        extra=row.model_dump(exclude={"tier", "tasks", "pass_at_2"}),
    )
    kept = [r for r in card.held_out if r.split != result.split]
    return card.model_copy(update={"held_out": [*kept, result]})
