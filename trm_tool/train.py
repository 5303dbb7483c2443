"""Train a TRM on one puzzle kind: `python -m trm_tool.train --kind sudoku --time-budget 40m`.

The loop keeps a batch of slots per difficulty tier, each on its tier's canvas. Every
iteration draws a tier (by the curriculum), runs one supervision step on every slot of its
batch, scores it, and takes one optimizer step; slots whose example halted (ACT, or the N_sup
budget) are refilled with fresh examples while the others carry their (answer, latent) on. So
examples enter and leave a batch independently, as in the paper's deep supervision.

Runs in bf16 autocast where the device has native bf16 (CUDA, CPUs with AVX512-BF16 or AMX;
see precision.py), else fp32, with torch.compile on CUDA; under torchrun, gradients
are averaged across processes (data parallel). At every periodic evaluation and when it stops
(cleanly, at --time-budget) it saves the EMA weights as a checkpoint with its model card, plus
a resumable training state. The loss, the train step, the snapshots and the checkpoint are the
training core's (trainer.py); this module supplies the data plan (slots per tier) and the
schedule, in the phases of `train`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.distributed as dist
from pydantic import AliasChoices, BaseModel, Field
from tqdm import tqdm

from . import checkpoint
from .bank import PuzzleBank
from .data import (
    PuzzleStream,
    aux_labels,
    collate,
    collate_aux,
    held_out,
    task_rows,
    training_task_ids,
)
from .model import TRM, TRMConfig
from .puzzles import PuzzleKind, get_kind
from .trainer import (
    MetricsLog,
    TrainState,
    learning_rate_scale,
    parse_duration,
    resolve_device,
    save_checkpoint,
    set_learning_rate,
    train_step,
)
from .widen import widen


class TrainConfig(BaseModel):
    kind: str
    tiers: list[str] = []
    """Difficulty tiers to train on, easiest first (default: all of the kind's tiers)."""
    curriculum: bool = True
    pool_size: int = 0
    """0: a fresh puzzle every example; N: the paper's setting, N base puzzles x augmentations."""
    bank: str | None = None
    """Folder of a puzzle bank (`bank.PuzzleBank`): every fresh puzzle is kept there, and
    `reuse_share` of the examples are banked puzzles under a random augmentation."""
    reuse_share: float = Field(0.0, ge=0.0, lt=1.0)
    model: TRMConfig | None = None
    batch_size: int = 96
    lr: float = 1e-3
    embedding_lr: float = Field(1e-2, validation_alias=AliasChoices("embedding_lr", "puzzle_lr"))
    """Learning rate of the task embedding rows (`puzzle_lr` in the cards of older runs)."""
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
    """Start from the weights of an existing checkpoint (e.g. a shipped one), fresh optimizer;
    a narrower one is widened first (`widen.widen`: same function, new channels at zero)."""
    leave_out: list[str] = []
    """Generator families (maze styles) this run never draws, so validation on them tells
    whether the recipe learned the task or the families it was shown."""


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
        aux = collate_aux(examples, self.canvas) if model.config.aux_classes else None
        self.aux = None if aux is None else aux_labels(aux, model.config.aux_classes).to(device)
        """[B, H, W] labels of the auxiliary target; None for models or kinds without one."""
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
        if self.aux is not None:
            aux = aux_labels(collate_aux(examples, self.canvas), self.model.config.aux_classes)
            self.aux[index] = aux.to(self.device)
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


@dataclass
class Process:
    """Where this process trains: its rank under torchrun (0 when alone) and its device."""

    rank: int
    distributed: bool
    device: torch.device


class Window:
    """Training figures since the last metrics row."""

    def __init__(self) -> None:
        self.loss, self.steps, self.halted, self.exact, self.halt_steps = 0.0, 0, 0, 0.0, 0.0
        self.start = time.time()

    def add(self, loss: float, exact: torch.Tensor, halted: torch.Tensor, steps: torch.Tensor):
        self.loss += loss
        self.steps += 1
        self.halted += int(halted.sum())
        self.exact += float((exact & halted).sum())
        self.halt_steps += float(steps[halted].sum())

    def row(self, batch_size: int) -> dict:
        seconds = time.time() - self.start
        return {
            "loss": round(self.loss / self.steps, 4),
            "exact": round(self.exact / max(1, self.halted), 4),
            "mean_halt_step": round(self.halt_steps / max(1, self.halted), 2),
            "samples_per_s": round(self.halted / seconds, 1),
            "example_steps_per_s": round(self.steps * batch_size / seconds, 1),
        }


@dataclass
class Run:
    """A training run in progress: what the phases of train() share."""

    config: TrainConfig
    kind: PuzzleKind
    tiers: list[str]
    task_ids: list[str]
    process: Process
    state: TrainState
    stream: PuzzleStream
    log: MetricsLog
    start_time: float

    @property
    def path(self) -> Path:
        return Path(self.config.out) / f"{self.config.kind}.safetensors"

    def progress(self) -> float:
        """How far through the run: by time or by steps, whichever is further."""
        by_time = (time.time() - self.start_time) / self.config.time_budget_s
        if self.process.distributed:  # one clock for all ranks: same learning rate, same end
            clock = torch.tensor([by_time], device=self.process.device)
            dist.all_reduce(clock, op=dist.ReduceOp.MAX)
            by_time = clock.item()
        steps = self.config.max_steps
        return max(by_time, self.state.counters.step / steps if steps else 0.0)

    def snapshot(self) -> dict:
        """Evaluate the EMA weights on the held-out sets and log it, then save the resume
        state and the checkpoint (EMA weights + card)."""
        config, counters, device = self.config, self.state.counters, self.process.device
        counters.elapsed_s = time.time() - self.start_time
        rows = task_rows(self.task_ids)
        results = evaluate(
            self.state.ema_model(), self.kind, self.tiers, config.eval_size, device, rows
        )
        elapsed = round(time.time() - self.start_time, 1)
        self.log.write({"step": counters.step, "elapsed_s": elapsed, "eval": results}, echo=True)
        self.state.save(Path(config.out) / "resume.safetensors")
        held_out_results = [
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
        ]
        save_checkpoint(
            self.state,
            self.path,
            config.kind,
            config,
            self.task_ids,
            "python -m trm_tool.train",
            device,
            held_out_results,
        )
        return results


def train(config: TrainConfig, kind: PuzzleKind | None = None) -> Path:
    """Run training to the time budget (or max_steps); returns the saved checkpoint path.
    `kind` overrides the registry lookup of config.kind (tests train on toy kinds)."""
    process = join_processes(config)
    run = start(config, kind or get_kind(config.kind), process)
    train_to_the_end(run)
    if process.distributed:
        digest = weights_sha256(run.state.model)
        print(json.dumps({"rank": process.rank, "weights_sha256": digest}), file=sys.stderr)
    if process.rank == 0:
        results = run.snapshot()
        summary = {"checkpoint": str(run.path), "held_out": results}
        print(json.dumps(summary | run.state.counters.model_dump()))
    if process.distributed:
        dist.destroy_process_group()
    return run.path


def weights_sha256(model: torch.nn.Module) -> str:
    """sha256 of the weights, by parameter name: equal on every rank of a data-parallel run."""
    digest = hashlib.sha256()
    for _, value in sorted(model.state_dict().items()):
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def join_processes(config: TrainConfig) -> Process:
    """Join the torchrun group when there is one, pick the device, seed this process."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank = dist.get_rank()
    device = resolve_device(config.device)
    if distributed and device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    torch.manual_seed(config.seed)  # one initial model on every rank; data differ by rank
    return Process(rank, distributed, device)


def start(config: TrainConfig, kind: PuzzleKind, process: Process) -> Run:
    """The model (fresh, from a checkpoint's weights, or resumed), its data stream, its log."""
    tiers = config.tiers or list(kind.tiers)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    model_config = config.model or TRMConfig(vocab_size=kind.vocab_size)
    task_ids = training_task_ids(kind, tiers) if model_config.n_puzzles else []
    if len(task_ids) != model_config.n_puzzles:
        raise ValueError(
            f"model has {model_config.n_puzzles} task embeddings, data has {len(task_ids)} tasks"
        )
    model = TRM(model_config).to(process.device)
    if config.init_from:
        start_model, _ = checkpoint.load(config.init_from, process.device)
        if start_model.config.hidden < model_config.hidden:
            start_model = widen(start_model, model_config.hidden, config.seed)
        missing, unexpected = model.load_state_dict(start_model.state_dict(), strict=False)
        if unexpected or any(not name.startswith("aux_head.") for name in missing):
            raise ValueError(
                f"{config.init_from} does not fit this model: missing {missing}, "
                f"unexpected {unexpected} (only a new auxiliary head may start fresh)"
            )
    torch.manual_seed(config.seed)
    state = TrainState.create(
        model, config.lr, config.embedding_lr, config.weight_decay, config.ema_decay
    )
    if config.resume:
        state.load(Path(config.resume))
    if process.device.type == "cuda" and config.compile:
        model.net = torch.compile(model.net)
    stream = PuzzleStream(
        kind,
        tiers,
        seed=config.seed * 1000 + process.rank + 7919 * state.counters.step,
        curriculum=config.curriculum,
        pool_size=config.pool_size,
        held_out_size=config.eval_size,
        puzzle_ids=task_rows(task_ids),
        leave_out=frozenset(config.leave_out),
        bank=PuzzleBank(config.bank, config.kind) if config.bank else None,
        reuse_share=config.reuse_share,
    )
    log = MetricsLog(out / "metrics.jsonl" if process.rank == 0 else None)
    start_time = time.time() - state.counters.elapsed_s
    return Run(config, kind, tiers, task_ids, process, state, stream, log, start_time)


def train_to_the_end(run: Run) -> None:
    """Train until the time budget or max_steps; a metrics row every 50 steps, a snapshot
    every eval_every_s (a run stopped early still leaves its latest checkpoint)."""
    config, counters, rank = run.config, run.state.counters, run.process.rank
    batches: dict[str, Slots] = {}
    """One batch of slots per tier, so small grids never run on a big tier's canvas."""
    bar = tqdm(disable=rank != 0, unit="step", dynamic_ncols=True, mininterval=5)
    window, last_eval = Window(), time.time()
    while run.progress() < 1.0:
        train_one_step(run, batches, window)
        bar.update()
        if counters.step % 50 == 0 and rank == 0:
            figures = window.row(config.batch_size)
            bar.set_postfix(
                loss=figures["loss"],
                exact=figures["exact"],
                halt=figures["mean_halt_step"],
                sps=figures["samples_per_s"],
            )
            run.log.write(
                {"step": counters.step, "elapsed_s": round(time.time() - run.start_time, 1)}
                | figures
                | {
                    "lr": round(run.state.optimizer.param_groups[0]["lr"], 6),
                    "tiers": run.stream.active_tiers(),
                }
            )
            window = Window()
        if config.max_steps and counters.step >= config.max_steps:
            break
        if rank == 0 and time.time() - last_eval > config.eval_every_s:
            run.snapshot()
            last_eval = time.time()
    bar.close()


def train_one_step(run: Run, batches: dict[str, Slots], window: Window) -> None:
    """One supervision step on a tier's batch, one optimizer step; halted slots refilled."""
    config, state, device = run.config, run.state, run.process.device
    progress = run.progress()
    run.stream.progress = progress
    tier = run.stream.choose_tier()
    if tier not in batches:
        batches[tier] = Slots(state.model, run.stream, tier, config.batch_size, device)
    slots = batches[tier]
    state.model.train()
    scale = learning_rate_scale(
        state.counters.step, progress, config.warmup_steps, config.min_lr_ratio
    )
    set_learning_rate(state.optimizer, scale)
    result = train_step(
        state.model,
        state.optimizer,
        slots.tokens,
        slots.labels.flatten(1),
        slots.puzzle_ids,
        slots.answer,
        slots.latent,
        halt_weight=config.halt_loss_weight,
        grad_clip=config.grad_clip,
        distributed=run.process.distributed,
        aux_labels=None if slots.aux is None else slots.aux.flatten(1),
        nearest=run.kind.nearest_target,
    )
    state.ema.update(state.model, state.counters.step)
    slots.answer, slots.latent = result.answer.float(), result.latent.float()
    slots.steps += 1
    halted = state.model.should_halt(result.halt_logit.float(), slots.steps)
    window.add(result.loss.total.item(), result.loss.exact, halted, slots.steps)
    slots.refill(halted)
    state.counters.step += 1
    state.counters.examples += int(halted.sum())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="trm-tool train", description=__doc__.splitlines()[0])
    p.add_argument(
        "--kind", required=True, choices=["sudoku", "maze", "arc"], help="the puzzle kind"
    )
    p.add_argument("--tiers", help="comma-separated tiers, easiest first (default: all)")
    p.add_argument("--no-curriculum", action="store_true", help="sample tiers uniformly")
    p.add_argument("--pool-size", type=int, default=0, help="paper setting: N base puzzles")
    p.add_argument("--bank", help="folder of a puzzle bank: keep every fresh puzzle there")
    p.add_argument(
        "--reuse-share",
        type=float,
        default=0.0,
        help="share of examples re-served from the bank under a random augmentation",
    )
    p.add_argument("--hidden", type=int, default=512, help="width of the network")
    p.add_argument("--heads", type=int, default=8, help="attention heads")
    p.add_argument("--expansion", type=float, default=4.0, help="SwiGLU width / hidden")
    p.add_argument(
        "--mixer",
        choices=["attention", "mlp_t", "conv"],
        default="attention",
        help="how cells mix: attention, an MLP over positions (fixed-size grids), 3x3 conv",
    )
    p.add_argument("--n-latent-steps", type=int, default=6, help="n")
    p.add_argument("--n-improve-steps", type=int, default=3, help="T")
    p.add_argument("--max-supervision-steps", type=int, default=16, help="N_sup")
    p.add_argument(
        "--loss", choices=["softmax", "stablemax"], default="softmax", help="answer loss"
    )
    p.add_argument(
        "--task-prefix-len",
        type=int,
        default=1,
        help="prefix tokens of each task's learned embedding (kinds with fixed tasks: ARC)",
    )
    p.add_argument("--batch-size", type=int, default=96, help="examples per step (per rank)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--weight-decay", type=float, default=0.1, help="AdamW weight decay")
    p.add_argument("--warmup-steps", type=int, default=200, help="linear warmup steps")
    p.add_argument(
        "--aux-classes",
        type=int,
        default=0,
        help="outputs of an auxiliary head on the latent (the kind's auxiliary target mod this, "
        "mazes: steps to the goal); 0: none",
    )
    p.add_argument("--ema-decay", type=float, default=0.999, help="EMA of the weights")
    p.add_argument("--time-budget", default="10m", help="e.g. 90s, 23m, 2h")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: none)")
    p.add_argument("--eval-every", default="5m", help="held-out evaluation + snapshot interval")
    p.add_argument("--eval-size", type=int, default=200, help="held-out puzzles per tier")
    p.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="where to train"
    )
    p.add_argument("--no-compile", action="store_true", help="no torch.compile on CUDA")
    p.add_argument("--seed", type=int, default=0, help="seed of the data stream and init")
    p.add_argument("--out", default="runs/latest", help="folder for checkpoint, card, resume state")
    p.add_argument("--resume", help="path to a resume.safetensors from an earlier run")
    p.add_argument("--init-from", help="start from a checkpoint's weights")
    p.add_argument(
        "--leave-out", help="comma-separated generator families never drawn (maze styles)"
    )
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
        aux_classes=args.aux_classes,
    )
    return TrainConfig(
        kind=args.kind,
        tiers=tiers,
        curriculum=not args.no_curriculum,
        pool_size=args.pool_size,
        bank=args.bank,
        reuse_share=args.reuse_share,
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
        leave_out=args.leave_out.split(",") if args.leave_out else [],
    )


def main(argv: list[str] | None = None) -> None:
    train(config_from_args(build_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
