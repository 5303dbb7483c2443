"""Train a TRM on one puzzle kind: `python -m trm_tool.train --kind sudoku --time-budget 40m`.

The loop keeps a batch of slots per difficulty tier, each on its tier's canvas. Every
iteration draws a tier (by the curriculum), runs one supervision step on every slot of its
batch, scores it, and takes one optimizer step; slots whose example halted (ACT, or the N_sup
budget) are refilled with fresh examples while the others carry their (answer, latent) on. So
examples enter and leave a batch independently, as in the paper's deep supervision.

Runs on CPU in fp32, or on CUDA with bf16 autocast and torch.compile; under torchrun, gradients
are averaged across processes (data parallel). At every periodic evaluation and when it stops
(cleanly, at --time-budget) it saves the EMA weights as a checkpoint with its model card, plus
a resumable training state.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Literal

import torch
import torch.distributed as dist
import torch.nn.functional as F
from pydantic import BaseModel
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from . import checkpoint
from .data import IGNORE, PuzzleStream, collate, held_out, task_rows, training_task_ids
from .model import EMA, TRM, TRMConfig, answer_loss, make_optimizer
from .puzzles import PuzzleKind, get_kind


class TrainConfig(BaseModel):
    kind: str
    tiers: list[str] = []
    """Difficulty tiers to train on, easiest first (default: all of the kind's tiers)."""
    curriculum: bool = True
    pool_size: int = 0
    """0: a fresh puzzle every example; N: the paper's setting, N base puzzles x augmentations."""
    model: TRMConfig | None = None
    batch_size: int = 96
    lr: float = 1e-3
    puzzle_lr: float = 1e-2
    weight_decay: float = 0.1
    warmup_steps: int = 200
    min_lr_ratio: float = 0.1
    ema_decay: float = 0.999
    halt_loss_weight: float = 0.5
    grad_clip: float = 1.0
    time_budget_s: float = 600.0
    max_steps: int = 0
    """Optimizer steps to stop at; 0 = no limit (the time budget decides)."""
    eval_every_s: float = 300.0
    eval_size: int = 200
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compile: bool = True
    seed: int = 0
    out: str = "runs/latest"
    resume: str | None = None
    init_from: str | None = None
    """Start from the weights of an existing checkpoint (e.g. a shipped one), fresh optimizer."""


def parse_duration(text: str) -> float:
    """'90', '90s', '23m', '1.5h' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def learning_rate_scale(step: int, progress: float, warmup_steps: int, min_ratio: float) -> float:
    """Linear warmup, then cosine decay (by progress through the run) to min_ratio."""
    warm = min(1.0, (step + 1) / max(1, warmup_steps))
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return warm * (min_ratio + (1 - min_ratio) * cosine)


def sequence_metrics(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per example: exactly right (all labelled tokens), and the fraction of right tokens."""
    valid = labels != IGNORE
    right = (logits.argmax(-1) == labels) & valid
    exact = right.sum(-1) == valid.sum(-1)
    return exact, right.sum(-1) / valid.sum(-1).clamp(min=1)


class Slots:
    """One tier's training batch on that tier's canvas: per slot an example plus its carried
    (answer, latent, steps)."""

    def __init__(
        self, model: TRM, stream: PuzzleStream, tier: str, batch: int, device: torch.device
    ):
        self.model, self.stream, self.tier, self.device = model, stream, tier, device
        self.canvas = stream.kind.canvas_shape(tier)
        examples = [stream.next(tier) for _ in range(batch)]
        self.tokens, self.labels, self.puzzle_ids = (
            t.to(device) for t in collate(examples, self.canvas)
        )
        length = model.config.puzzle_prefix_len + self.canvas[0] * self.canvas[1]
        self.answer = model.answer_init.expand(batch, length, -1).clone()
        self.latent = model.latent_init.expand(batch, length, -1).clone()
        self.steps = torch.zeros(batch, dtype=torch.long, device=device)

    def refill(self, halted: torch.Tensor) -> None:
        """Give every halted slot a fresh example and a fresh (answer, latent)."""
        index = halted.nonzero().flatten()
        if len(index) == 0:
            return
        examples = [self.stream.next(self.tier) for _ in index]
        tokens, labels, ids = collate(examples, self.canvas)
        self.tokens[index] = tokens.to(self.device)
        self.labels[index] = labels.to(self.device)
        self.puzzle_ids[index] = ids.to(self.device)
        self.answer[index] = self.model.answer_init
        self.latent[index] = self.model.latent_init
        self.steps[index] = 0


@torch.no_grad()
def evaluate(
    model: TRM,
    kind: PuzzleKind,
    tiers: list[str],
    size: int,
    device: torch.device,
    rows: dict[str, int] | None = None,
):
    """Accuracy and mean halting step per tier on the fixed held-out sets (one view): an answer
    counts when the kind's exact check passes it (any shortest route of a maze with several), or
    where there is no check, when it equals the label. `rows` maps task ids to embedding rows for
    models with per-task embeddings."""
    rows = rows or {}
    results = {}
    for tier in tiers:
        pairs = held_out(kind, tier, size)
        exact, steps = 0, 0.0
        for start in range(0, len(pairs), 256):
            chunk = pairs[start : start + 256]
            by_shape: dict[tuple[int, int], list[int]] = {}
            for i, (puzzle, _) in enumerate(chunk):
                by_shape.setdefault(tuple(kind.encode(puzzle.grid).shape), []).append(i)
            for index in by_shape.values():
                tokens = torch.stack([kind.encode(chunk[i][0].grid) for i in index]).to(device)
                ids = torch.tensor([rows.get(chunk[i][0].task_id or "", 0) for i in index])
                prediction = model.predict(tokens, ids.to(device))
                for row, i in enumerate(index):
                    puzzle, solution = chunk[i]
                    answer = kind.decode(prediction.tokens[row].cpu())
                    verified = kind.verify(puzzle, answer)
                    exact += answer == solution if verified is None else verified
                steps += prediction.steps.float().sum().item()
        results[tier] = {"exact": exact / len(pairs), "mean_steps": steps / len(pairs)}
    return results


def save_resume_state(path: Path, model: TRM, ema: EMA, optimizer, counters: dict) -> None:
    """Weights, EMA and AdamW moments as safetensors, counters as JSON (no pickle)."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors |= {f"ema.{k}": v for k, v in ema.state_dict().items()}
    for i, param in enumerate(p for g in optimizer.param_groups for p in g["params"]):
        for key, value in optimizer.state.get(param, {}).items():
            if torch.is_tensor(value) and value.dim() > 0:
                tensors[f"opt.{i}.{key}"] = value
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(path))
    path.with_suffix(".json").write_text(json.dumps(counters))


def load_resume_state(path: Path, model: TRM, ema: EMA, optimizer) -> dict:
    tensors = load_file(str(path))
    counters = json.loads(path.with_suffix(".json").read_text())
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    for i, param in enumerate(p for g in optimizer.param_groups for p in g["params"]):
        moments = {k.split(".")[-1]: v for k, v in tensors.items() if k.startswith(f"opt.{i}.")}
        if moments:
            optimizer.state[param] = {
                "step": torch.tensor(float(counters["step"])),
                **{k: v.to(param.device) for k, v in moments.items()},
            }
    return counters


def train(config: TrainConfig, kind: PuzzleKind | None = None) -> Path:
    """Run training to the time budget (or max_steps); returns the saved checkpoint path.
    `kind` overrides the registry lookup of config.kind (tests train on toy kinds)."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank = dist.get_rank()
    device = resolve_device(config.device)
    if distributed and device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    torch.manual_seed(config.seed + rank)
    kind = kind or get_kind(config.kind)
    tiers = config.tiers or list(kind.tiers)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)

    model_config = config.model or TRMConfig(vocab_size=kind.vocab_size)
    task_ids = training_task_ids(kind, tiers) if model_config.n_puzzles else []
    if len(task_ids) != model_config.n_puzzles:
        raise ValueError(
            f"model has {model_config.n_puzzles} task embeddings, data has {len(task_ids)} tasks"
        )
    rows = task_rows(task_ids)
    model = TRM(model_config).to(device)
    if config.init_from:
        start_model, _ = checkpoint.load(config.init_from, device)
        model.load_state_dict(start_model.state_dict())
    torch.manual_seed(config.seed)
    ema = EMA(model, config.ema_decay)
    optimizer = make_optimizer(model, config.lr, config.puzzle_lr, config.weight_decay)
    counters = {"step": 0, "examples": 0, "elapsed_s": 0.0}
    if config.resume:
        counters = load_resume_state(Path(config.resume), model, ema, optimizer)
    if device.type == "cuda" and config.compile:
        model.net = torch.compile(model.net)
    stream = PuzzleStream(
        kind,
        tiers,
        seed=config.seed * 1000 + rank + 7919 * counters["step"],
        curriculum=config.curriculum,
        pool_size=config.pool_size,
        held_out_size=config.eval_size,
        puzzle_ids=rows,
    )
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    metrics_log = open(out / "metrics.jsonl", "a") if rank == 0 else None
    start_time = time.time() - counters["elapsed_s"]
    last_eval = time.time()

    def progress() -> float:
        by_time = (time.time() - start_time) / config.time_budget_s
        by_steps = counters["step"] / config.max_steps if config.max_steps else 0.0
        return max(by_time, by_steps)

    path = out / f"{config.kind}.safetensors"

    def snapshot() -> dict:
        """Evaluate, then save the checkpoint (EMA weights + card) and the resume state."""
        counters["elapsed_s"] = time.time() - start_time
        results = log_eval(
            model, ema, kind, config, tiers, device, counters, start_time, metrics_log, rows
        )
        save_resume_state(out / "resume.safetensors", model, ema, optimizer, counters)
        save_checkpoint(model, ema, config, path, counters, results, device, task_ids)
        return results

    batches: dict[str, Slots] = {}
    """One batch of slots per tier, so small grids never run on a big tier's canvas."""
    bar = tqdm(disable=rank != 0, unit="step", dynamic_ncols=True, mininterval=5)
    window = {"loss": 0.0, "exact": 0.0, "halted": 0, "halt_steps": 0.0, "n": 0}
    window_start, window_examples = time.time(), 0
    while progress() < 1.0:
        stream.progress = progress()
        tier = stream.choose_tier()
        if tier not in batches:
            batches[tier] = Slots(model, stream, tier, config.batch_size, device)
        slots = batches[tier]
        model.train()
        scale = learning_rate_scale(
            counters["step"], progress(), config.warmup_steps, config.min_lr_ratio
        )
        for group in optimizer.param_groups:
            group["lr"] = group["base_lr"] * scale

        with autocast:
            x = model.embed_question(slots.tokens, slots.puzzle_ids)
            layout = model.layout(*slots.canvas, device)
            answer, latent, logits, halt_logit = model.supervision_step(
                x, slots.answer.to(x.dtype), slots.latent.to(x.dtype), layout
            )
        labels = slots.labels.flatten(1)
        loss_on_answers = answer_loss(logits, labels, model_config.loss, IGNORE)
        exact, _ = sequence_metrics(logits.detach(), labels)
        halt_loss = F.binary_cross_entropy_with_logits(halt_logit.float(), exact.float())
        loss = loss_on_answers + config.halt_loss_weight * halt_loss

        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if distributed:
            for param in model.parameters():
                if param.grad is not None:
                    dist.all_reduce(param.grad, op=dist.ReduceOp.AVG)
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        ema.update(model, counters["step"])

        slots.answer, slots.latent = answer.float(), latent.float()
        slots.steps += 1
        halted = model.should_halt(halt_logit.detach().float(), slots.steps)
        window["loss"] += loss.item()
        window["n"] += 1
        window["halted"] += int(halted.sum())
        window["exact"] += float((exact & halted).sum())
        window["halt_steps"] += float(slots.steps[halted].sum())
        window_examples += int(halted.sum())
        slots.refill(halted)
        counters["step"] += 1
        counters["examples"] += int(halted.sum())
        bar.update()

        if counters["step"] % 50 == 0 and rank == 0:
            seconds = time.time() - window_start
            row = {
                "step": counters["step"],
                "elapsed_s": round(time.time() - start_time, 1),
                "loss": round(window["loss"] / window["n"], 4),
                "exact": round(window["exact"] / max(1, window["halted"]), 4),
                "mean_halt_step": round(window["halt_steps"] / max(1, window["halted"]), 2),
                "samples_per_s": round(window_examples / seconds, 1),
                "example_steps_per_s": round(window["n"] * config.batch_size / seconds, 1),
                "lr": round(optimizer.param_groups[0]["lr"], 6),
                "tiers": stream.active_tiers(),
            }
            bar.set_postfix(
                loss=row["loss"],
                exact=row["exact"],
                halt=row["mean_halt_step"],
                sps=row["samples_per_s"],
            )
            metrics_log.write(json.dumps(row) + "\n")
            metrics_log.flush()
            window = {k: 0 for k in window}
            window_start, window_examples = time.time(), 0

        if config.max_steps and counters["step"] >= config.max_steps:
            break
        if rank == 0 and time.time() - last_eval > config.eval_every_s:
            snapshot()  # a run stopped early still leaves its latest checkpoint
            last_eval = time.time()

    bar.close()
    if rank == 0:
        results = snapshot()
        print(json.dumps({"checkpoint": str(path), "held_out": results, **counters}))
    if distributed:
        dist.destroy_process_group()
    return path


def ema_model(model: TRM, ema: EMA) -> TRM:
    """A plain (uncompiled) copy of the model carrying the EMA weights."""
    shadow = TRM(model.config).to(next(model.parameters()).device)
    shadow.load_state_dict(ema.state_dict())
    return shadow.eval()


def log_eval(
    model, ema, kind, config, tiers, device, counters, start_time, metrics_log, rows
) -> dict:
    """Evaluate the EMA weights on the held-out sets and log the result."""
    results = evaluate(ema_model(model, ema), kind, tiers, config.eval_size, device, rows)
    row = {
        "step": counters["step"],
        "elapsed_s": round(time.time() - start_time, 1),
        "eval": results,
    }
    print(json.dumps(row), file=sys.stderr)
    metrics_log.write(json.dumps(row) + "\n")
    metrics_log.flush()
    return results


def save_checkpoint(model, ema, config, path, counters, results, device, task_ids) -> None:
    device_name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu"
    )
    card = checkpoint.ModelCard(
        kind=config.kind,
        config=model.config,
        task_ids=task_ids,
        training={
            "config": config.model_dump(exclude={"model"}),
            "optimizer_steps": counters["step"],
            "examples_seen": counters["examples"],
            "wall_clock_s": round(counters["elapsed_s"], 1),
            "device": f"{device.type}: {device_name} ({os.cpu_count()} cpu cores visible)",
            "torch": torch.__version__,
            "command": " ".join(["python -m trm_tool.train", *sys.argv[1:]]),
        },
        held_out=[
            checkpoint.HeldOutResult(
                split=f"{config.kind}/{tier} (held-out seed, first {config.eval_size})",
                n=config.eval_size,
                exact=round(r["exact"], 4),
                command=(
                    f"trm-tool bench --kind {config.kind} --tier {tier} "
                    f"--n {config.eval_size} --views 1"
                ),
                extra={"mean_halt_step": round(r["mean_steps"], 2), "measured_by": "training run"},
            )
            for tier, r in results.items()
        ],
    )
    checkpoint.save(ema_model(model, ema), path, card)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="trm-tool train", description=__doc__.splitlines()[0])
    p.add_argument("--kind", required=True, choices=["sudoku", "maze", "arc"])
    p.add_argument("--tiers", help="comma-separated tiers, easiest first (default: all)")
    p.add_argument("--no-curriculum", action="store_true", help="sample tiers uniformly")
    p.add_argument("--pool-size", type=int, default=0, help="paper setting: N base puzzles")
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--expansion", type=float, default=4.0)
    p.add_argument("--mixer", choices=["attention", "mlp_t", "conv"], default="attention")
    p.add_argument("--n-latent-steps", type=int, default=6, help="n")
    p.add_argument("--n-improve-steps", type=int, default=3, help="T")
    p.add_argument("--max-supervision-steps", type=int, default=16, help="N_sup")
    p.add_argument("--loss", choices=["softmax", "stablemax"], default="softmax")
    p.add_argument(
        "--task-prefix-len",
        type=int,
        default=1,
        help="prefix tokens of each task's learned embedding (kinds with fixed tasks: ARC)",
    )
    p.add_argument("--batch-size", type=int, default=96)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--time-budget", default="10m", help="e.g. 90s, 23m, 2h")
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--eval-every", default="5m")
    p.add_argument("--eval-size", type=int, default=200)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/latest")
    p.add_argument("--resume", help="path to a resume.safetensors from an earlier run")
    p.add_argument("--init-from", help="start from a checkpoint's weights")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    kind = get_kind(args.kind)
    tiers = args.tiers.split(",") if args.tiers else list(kind.tiers)
    grid_shape = kind.canvas_shape(tiers[-1]) if args.mixer == "mlp_t" else None
    n_tasks = len(training_task_ids(kind, tiers))
    model = TRMConfig(
        vocab_size=kind.vocab_size,
        hidden=args.hidden,
        n_heads=args.heads,
        expansion=args.expansion,
        mixer=args.mixer,
        grid_shape=grid_shape,
        n_latent_steps=args.n_latent_steps,
        n_improve_steps=args.n_improve_steps,
        max_supervision_steps=args.max_supervision_steps,
        n_puzzles=n_tasks,
        puzzle_prefix_len=args.task_prefix_len if n_tasks else 0,
        loss=args.loss,
    )
    return TrainConfig(
        kind=args.kind,
        tiers=tiers,
        curriculum=not args.no_curriculum,
        pool_size=args.pool_size,
        model=model,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps,
        ema_decay=args.ema_decay,
        time_budget_s=parse_duration(args.time_budget),
        max_steps=args.max_steps,
        eval_every_s=parse_duration(args.eval_every),
        eval_size=args.eval_size,
        device=args.device,
        compile=not args.no_compile,
        seed=args.seed,
        out=args.out,
        resume=args.resume,
        init_from=args.init_from,
    )


def main(argv: list[str] | None = None) -> None:
    train(config_from_args(build_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
