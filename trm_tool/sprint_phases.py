"""The phases of the GPU sprint (sprint.py runs each in a process of its own).

Each phase is `phase(device, end, work) -> dict`: it does its work by `end` (a time.time()
value), writes what it makes under `work/<phase>/`, and returns the figures for the report.
Every part that can fail on its own (one kind's check, one kind's benchmark) is recorded as an
error in place, so the rest of the phase still runs.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .bench import median_seconds
from .checkpoint import load, load_card, shipped
from .data import collate, held_out, to_example
from .feed import Feed
from .pretrain import PretrainConfig, pretrain
from .puzzles import get_kind
from .solver import load_solver
from .train import TrainConfig, evaluate, train
from .trainer import train_step

ARC_RUN = Path(__file__).resolve().parents[1] / "training" / "arc_fit"
"""The committed ARC pretraining run the sprint resumes."""
GPU_BATCH = {"sudoku": 768, "maze": 256}
"""Examples per optimizer step on a GPU (CPU rehearsal: 8)."""
ARC_BATCH_SCALE = 16
"""ARC pretraining batches on a GPU: 16 x the CPU run's grid cells per batch (and pool)."""
CORE_SHARE = {"sudoku": 0.45, "maze": 0.3, "arc": 0.25}
"""How the spare cores are split among the training phases' puzzle workers."""
BENCH_TIERS = {"sudoku": "hard", "maze": "large"}
SWEEP = {"cuda": [1, 16, 64, 256, 1024, 4096], "cpu": [1, 2]}


def guarded(part: Callable[[], dict]) -> dict:
    """Run one part of a phase; its error, if any, becomes its result."""
    try:
        return part()
    except Exception as err:
        return {"error": repr(err), "traceback": traceback.format_exc()[-2000:]}


def seconds_left(end: float) -> float:
    return max(0.0, end - time.time())


def on_gpu(device: str) -> bool:
    return device == "cuda"


def scaled_lr(lr: float, scale: float) -> float:
    """The learning rate for a batch `scale` x larger: the square-root rule for Adam, at most
    doubled (these runs continue trained weights, where a large step undoes work)."""
    return lr * min(2.0, math.sqrt(scale))


def log(phase: str, message: str) -> None:
    print(f"[{phase} {time.strftime('%H:%M:%S')}] {message}", flush=True)


def chunk(device: str) -> int:
    """Puzzles per feed job: small on the CPU rehearsal, whose one worker serves every tier."""
    return 16 if on_gpu(device) else 2


def workers(phase: str) -> int:
    spare = max(1, (os.cpu_count() or 2) - 3)
    return max(1, int(spare * CORE_SHARE[phase]))


# -- checks -------------------------------------------------------------------------------


def checks(device: str, end: float, work: Path) -> dict:
    """Environment, then per kind: the device's predictions against the CPU's (fp32, bf16
    autocast), one bf16 train step, the solver's verified answers; last, torch.compile."""
    result: dict = {"torch": torch.__version__, "cuda_available": torch.cuda.is_available()}
    if on_gpu(device):
        props = torch.cuda.get_device_properties(0)
        result |= {
            "gpu": props.name,
            "gpu_memory_gib": round(props.total_memory / 2**30, 1),
            "cuda": torch.version.cuda,
            "capability": f"{props.major}.{props.minor}",
        }
    for name in ("sudoku", "maze"):
        result[name] = guarded(lambda name=name: check_kind(name, device))
        keep(work, "checks", result)
    if on_gpu(device):
        result["compile"] = guarded(lambda: check_compile("sudoku"))
    return result


def keep(work: Path, phase: str, result: dict) -> None:
    """Write a phase's result so far, so that a phase killed past its box still reports."""
    (work / f"{phase}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")


def agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    """Share of rows whose predicted tokens are all equal."""
    return round(float((a.cpu() == b.cpu()).flatten(1).all(1).float().mean()), 4)


def check_kind(name: str, device: str) -> dict:
    kind, tier = get_kind(name), BENCH_TIERS[name]
    pairs = held_out(kind, tier, 32 if on_gpu(device) else 4)
    examples = [to_example(kind, puzzle, solution, 0) for puzzle, solution in pairs]
    tokens, labels, ids = collate(examples, kind.canvas_shape(tier))
    reference, _ = load(shipped(name), "cpu")
    expected = reference.predict(tokens).tokens
    out: dict = {"puzzles": len(pairs)}
    model, _ = load(shipped(name), device)
    on_device = tokens.to(device)
    out["fp32_rows_equal_cpu"] = agreement(model.predict(on_device).tokens, expected)
    if on_gpu(device):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out["bf16_rows_equal_cpu"] = agreement(model.predict(on_device).tokens, expected)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    step = train_step(
        model.train(),
        optimizer,
        on_device,
        labels.flatten(1).to(device),
        ids.to(device),
    )
    out["train_step_loss"] = round(float(step.loss.total.detach()), 4)
    out["train_step_finite"] = bool(torch.isfinite(step.loss.total))
    solver = load_solver(name, device=device)
    calls = 4 if on_gpu(device) else 1
    solved = [solver.solve(kind.question_text(puzzle)) for puzzle, _ in pairs[:calls]]
    out["solver_verified"] = f"{sum(bool(r.verified) for r in solved)}/{len(solved)}"
    out["solver_latency_ms"] = [r.latency_ms for r in solved]
    return out


def check_compile(name: str) -> dict:
    """torch.compile of the network (as train.py compiles it on CUDA) against eager, every
    example running every step (fixed shapes: one compilation)."""
    kind, tier = get_kind(name), BENCH_TIERS[name]
    tokens = torch.stack([kind.encode(p.grid) for p, _ in held_out(kind, tier, 32)]).cuda()
    model, _ = load(shipped(name), "cuda")
    eager = model.predict(tokens, early_halting=False).tokens
    model.net = torch.compile(model.net)
    start = time.perf_counter()
    compiled = model.predict(tokens, early_halting=False).tokens
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    model.predict(tokens, early_halting=False)
    torch.cuda.synchronize()
    return {
        "rows_equal_eager": agreement(compiled, eager),
        "compile_and_first_predict_s": round(first_s, 1),
        "second_predict_ms": round((time.perf_counter() - start) * 1e3, 1),
    }


# -- bench --------------------------------------------------------------------------------


def bench(device: str, end: float, work: Path) -> dict:
    """Per kind, each in its share of the time: tool-call latency (the solver's default
    search, as an agent calls it) and raw puzzles/s over a sweep of batch sizes (one view)."""
    result: dict = {}
    for i, name in enumerate(BENCH_TIERS):
        until = time.time() + seconds_left(end) / (3 - i)
        result[name] = guarded(lambda name=name, until=until: bench_kind(name, device, until))
        keep(work, "bench", result)
    result["arc"] = guarded(lambda: bench_arc(device, end))
    return result


def bench_kind(name: str, device: str, until: float) -> dict:
    kind, tier = get_kind(name), BENCH_TIERS[name]
    solver = load_solver(name, device=device)
    pairs = held_out(kind, tier, 16 if on_gpu(device) else 1)
    texts = [kind.question_text(puzzle) for puzzle, _ in pairs]
    if on_gpu(device):
        solver.solve(texts[0])  # warm-up (the rehearsal's one call is its own)
    calls = [solver.solve(text) for text in texts[:8]]
    latencies = sorted(r.latency_ms for r in calls)
    out: dict = {
        "tier": tier,
        "tool_call_ms_p50": latencies[len(latencies) // 2],
        "tool_call_ms_max": latencies[-1],
        "verified": f"{sum(bool(r.verified) for r in calls)}/{len(calls)}",
        "sweep": [],
    }
    for batch in SWEEP[device]:
        if out["sweep"] and time.time() > until:
            out["sweep_cut_at_batch"] = batch
            break
        puzzles = [pairs[i % len(pairs)][0] for i in range(batch)]
        median, _ = median_seconds(
            lambda puzzles=puzzles: solver.solve_puzzles(puzzles, views=1, retry_views=0),
            solver.device,
            repeats=2,
        )
        row = {"batch": batch, "puzzles_per_s": round(batch / median, 1)}
        out["sweep"].append(row | {"ms": round(median * 1e3, 1)})
    out["best"] = max(out["sweep"], key=lambda row: row["puzzles_per_s"], default=None)
    return out


def bench_arc(device: str, end: float) -> dict:
    """The test-time fit on the device: one small and one large evaluation task, each at a
    budget of its share of the time left (at most 20 s)."""
    kind = get_kind("arc")
    tasks = kind.evaluation_puzzles("arc1")[:100]
    by_size = sorted(tasks, key=lambda pair: len(pair[0].grid) * len(pair[0].grid[0]))
    solver = load_solver("arc", device=device)
    out = []
    for i, (puzzle, answers) in enumerate([by_size[0], by_size[-1]]):
        budget = min(20.0, seconds_left(end) / (2 - i) - 2)
        if out and budget < 1:
            break
        budget = max(1.0, budget)
        res = solver.solve(kind.question_text(puzzle), max_seconds=budget)
        fit = res.fit
        out.append(
            {
                "task": puzzle.task_id,
                "grid": f"{len(puzzle.grid)}x{len(puzzle.grid[0])}",
                "budget_s": round(budget, 1),
                "latency_ms": res.latency_ms,
                "right": res.grid == answers[0],
                "fit_steps": fit.steps if fit else None,
                "fit_steps_per_s": round(fit.steps / fit.seconds, 1)
                if fit and fit.seconds
                else None,
                "demonstrations_reproduced": f"{fit.reproduced}/{fit.demonstrations}"
                if fit
                else None,
            }
        )
    return {"tasks": out}


# -- training -----------------------------------------------------------------------------


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def train_kind(name: str, device: str, end: float, work: Path) -> dict:
    """Continue training the shipped checkpoint on its card's tiers at a GPU-sized batch;
    the held-out figures of the shipped weights (before) and of the run's EMA (after)."""
    path = shipped(name)
    model, card = load(path, device)
    recipe = card.training["config"]
    tiers = recipe["tiers"]
    eval_size = recipe.get("eval_size", 100) if on_gpu(device) else 1
    batch = GPU_BATCH[name] if on_gpu(device) else 8
    lr = scaled_lr(recipe["lr"], batch / recipe["batch_size"])
    with Feed(get_kind(name), tiers, workers(name), eval_size, chunk(device)) as feed:
        kind = feed.kind()
        log(name, f"held-out sets ready ({eval_size} a tier)")
        before = evaluate(model, kind, tiers, eval_size, torch.device(device))
        log(name, f"shipped weights evaluated: {before}")
        del model
        reserve = 20.0 if on_gpu(device) else 5.0
        budget = max(3.0, seconds_left(end) - reserve)
        config = TrainConfig(
            kind=name,
            tiers=tiers,
            curriculum=recipe.get("curriculum", False),
            model=card.config,
            batch_size=batch,
            lr=lr,
            warmup_steps=recipe.get("warmup_steps", 50),
            ema_decay=recipe.get("ema_decay", 0.999),
            time_budget_s=budget,
            eval_every_s=10 * budget,
            eval_size=eval_size,
            device=device,
            compile=name == "sudoku",
            seed=recipe.get("seed", 0) + 1000,
            out=str(work / name),
            init_from=str(path),
        )
        log(name, f"training for {budget:.0f} s at batch {batch}, lr {lr:.2g}")
        train(config, kind=kind)
        feed_stats = feed.stats()
    rows = read_rows(work / name / "metrics.jsonl")
    evals = [row["eval"] for row in rows if "eval" in row]
    return {
        "from": str(path.relative_to(path.parents[2])),
        "tiers": tiers,
        "batch_size": batch,
        "lr": lr,
        "time_budget_s": round(budget, 1),
        "counters": json.loads((work / name / "resume.json").read_text()),
        "held_out_n": eval_size,
        "held_out_before": before,
        "held_out_after": evals[-1] if evals else None,
        "train_rows": [row for row in rows if "loss" in row][-5:],
        "feed": feed_stats,
    }


def sudoku(device: str, end: float, work: Path) -> dict:
    return train_kind("sudoku", device, end, work)


def maze(device: str, end: float, work: Path) -> dict:
    return train_kind("maze", device, end, work)


def resume_counters(path: Path) -> dict:
    """A resume state's counters: in its metadata, or (older states) in the JSON beside it."""
    with safe_open(str(path), "pt") as f:
        counters = (f.metadata() or {}).get("counters")
    return json.loads(counters or path.with_suffix(".json").read_text())


def rewrite_counters(source: Path, target: Path, counters: dict) -> None:
    """A copy of a resume state with other counters (metadata and the JSON beside it);
    `target` may be `source`."""
    tensors = load_file(str(source))
    partial = target.with_suffix(".partial")
    save_file(tensors, str(partial), metadata={"counters": json.dumps(counters)})
    os.replace(partial, target)
    target.with_suffix(".json").write_text(json.dumps(counters))


def arc(device: str, end: float, work: Path) -> dict:
    """Resume the committed ARC pretraining at a GPU-sized batch, the cosine restarted over
    the time left; the resume state written back counts the run's whole elapsed time."""
    card = load_card(ARC_RUN / "arc.safetensors")
    recipe = card.training["config"]
    prior = resume_counters(ARC_RUN / "resume.safetensors")
    start = work / "arc_start"
    start.mkdir(parents=True, exist_ok=True)
    rewrite_counters(
        ARC_RUN / "resume.safetensors", start / "resume.safetensors", prior | {"elapsed_s": 0.0}
    )
    scale = ARC_BATCH_SCALE if on_gpu(device) else 1
    budget = max(3.0, seconds_left(end) - (10.0 if on_gpu(device) else 3.0))
    config = PretrainConfig(
        kind="arc",
        tiers=recipe["tiers"],
        tier_weights=recipe.get("tier_weights"),
        model=card.config,
        batch_tokens=recipe["batch_tokens"] * scale,
        pool=recipe["pool"] * scale if on_gpu(device) else 16,
        supervision_steps=recipe["supervision_steps"],
        lr=scaled_lr(recipe["lr"], scale),
        embedding_lr=recipe["embedding_lr"],
        warmup_steps=recipe["warmup_steps"],
        min_lr_ratio=recipe["min_lr_ratio"],
        ema_decay=recipe["ema_decay"],
        time_budget_s=budget,
        save_every_s=max(30.0, budget / 4),
        seed=recipe["seed"],
        out=str(work / "arc"),
        resume=str(start / "resume.safetensors"),
        device=device,
    )
    log("arc", f"pretraining for {budget:.0f} s at {config.batch_tokens} cells a batch")
    with Feed(get_kind("arc"), config.tiers, workers("arc"), 0, chunk(device)) as feed:
        pretrain(config, kind=feed.kind())
        feed_stats = feed.stats()
    shutil.rmtree(start)
    resume = work / "arc" / "resume.safetensors"
    session = resume_counters(resume)
    total = session | {"elapsed_s": prior["elapsed_s"] + session["elapsed_s"]}
    rewrite_counters(resume, resume, total)
    return {
        "from": "training/arc_fit",
        "counters_before": prior,
        "counters_after": total,
        "batch_tokens": config.batch_tokens,
        "lr": config.lr,
        "time_budget_s": round(budget, 1),
        "train_rows_before": read_rows(ARC_RUN / "metrics.jsonl")[-2:],
        "train_rows": read_rows(work / "arc" / "metrics.jsonl"),
        "feed": feed_stats,
    }


PHASES: dict[str, Callable[[str, float, Path], dict]] = {
    "checks": checks,
    "bench": bench,
    "arc": arc,
    "sudoku": sudoku,
    "maze": maze,
}
