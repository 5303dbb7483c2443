"""Pretrain the network that tasks are fitted from (fitting.py), the way fitting trains it.

train.py runs each tier on its full canvas with ACT slots: for ARC every grid costs 900
tokens however small it is, and most ARC grids are far smaller. A network that will be fitted
to each task is better pretrained the way the fit trains and predicts: a fixed number of
supervision steps per batch (fitting.train_step) on canvases cropped to the grids at hand.

    draw a pool of examples from the tiers (each with its task's row)
    -> sort them by grid size and cut them into batches of about `batch_tokens` grid cells,
       each cropped to its largest grid, so a 3x3 grid costs 16 cells, not 900
    -> deep supervision on each batch; EMA of the weights; checkpoint + resume state every
       `save_every_s` and at the end.

For ARC the tiers are the real tasks (`arc1`: training tasks and the demonstrations of the
evaluation tasks) and the grid-operation tasks (`operations`: flips, recolourings, upscales,
...), so a fitted task starts from a network that already has ARC's building blocks.

    python -m trm_tool.pretrain --tiers arc1,operations --time-budget 100m --out training/arc_fit
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import torch
from pydantic import BaseModel

from . import checkpoint
from .data import IGNORE, Example, collate, task_rows, to_example, training_task_ids
from .fitting import crop, train_step
from .model import EMA, TRM, TRMConfig, make_optimizer
from .puzzles import PuzzleKind, get_kind
from .train import learning_rate_scale, load_resume_state, parse_duration, save_resume_state


class PretrainConfig(BaseModel):
    """One pretraining run; saved in the checkpoint's card."""

    kind: str = "arc"
    tiers: list[str] = ["arc1", "operations"]
    tier_weights: list[float] | None = None
    """How often each tier is drawn, relatively (None: equally)."""
    model: TRMConfig
    batch_tokens: int = 4096
    """Grid cells per batch (examples x cropped side^2)."""
    pool: int = 256
    """Examples drawn at once and cut into batches by grid size."""
    supervision_steps: int = 2
    """Supervision steps per batch, as fitting.FitConfig.supervision_steps."""
    lr: float = 1e-3
    embedding_lr: float = 1e-2
    weight_decay: float = 0.1
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1
    ema_decay: float = 0.999
    time_budget_s: float = 3600.0
    """Total wall-clock time of the run, across resumes."""
    save_every_s: float = 900.0
    seed: int = 0
    out: str = "training/arc_fit"
    resume: str | None = None


def example_side(example: Example) -> int:
    """Side of the smallest top-left square holding the example's question and answer."""
    used = ((example.tokens != 0) | (example.labels != IGNORE)).nonzero()
    return int(used.max()) + 1 if len(used) else 1


def draw_batches(
    kind: PuzzleKind, rows: dict[str, int], rng: random.Random, config: PretrainConfig
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """`config.pool` examples as batches of (tokens, labels, task rows) of about
    `config.batch_tokens` tokens each: grids of similar size together, each batch cropped to
    its largest grid (a batch of 30x30 grids holds 4 examples, one of 5x5 grids 100+)."""
    examples = []
    for _ in range(config.pool):
        tier = rng.choices(config.tiers, config.tier_weights)[0]
        puzzle, answer = kind.generate(rng, tier)
        examples.append(to_example(kind, puzzle, answer, rows[puzzle.task_id]))
    examples.sort(key=example_side)
    chunks: list[list[Example]] = [[]]
    for example in examples:
        side = example_side(example)
        if chunks[-1] and (len(chunks[-1]) + 1) * side * side > config.batch_tokens:
            chunks.append([])
        chunks[-1].append(example)
    batches = []
    for chunk in chunks:
        side = example_side(chunk[-1])
        tokens, labels, ids = collate(chunk, tuple(chunk[0].tokens.shape))
        batches.append((crop(tokens, side), crop(labels, side), ids))
    rng.shuffle(batches)
    return batches


def pretrain(config: PretrainConfig) -> Path:
    """Run to the time budget; returns the checkpoint path."""
    kind = get_kind(config.kind)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    task_ids = training_task_ids(kind, config.tiers)
    if len(task_ids) != config.model.n_puzzles:
        raise ValueError(
            f"the model has {config.model.n_puzzles} task rows, the tiers have {len(task_ids)}"
        )
    rows = task_rows(task_ids)
    torch.manual_seed(config.seed)
    model = TRM(config.model)
    ema = EMA(model, config.ema_decay)
    optimizer = make_optimizer(model, config.lr, config.embedding_lr, config.weight_decay)
    counters = {"step": 0, "examples": 0, "elapsed_s": 0.0}
    if config.resume:
        counters = load_resume_state(Path(config.resume), model, ema, optimizer)
    rng = random.Random(f"{config.seed}/{counters['step']}")
    start = time.time() - counters["elapsed_s"]
    last_save = time.time()
    path = out / f"{config.kind}.safetensors"
    metrics = open(out / "metrics.jsonl", "a")
    window = {"loss": 0.0, "exact": 0.0, "n": 0}

    def snapshot() -> None:
        counters["elapsed_s"] = time.time() - start
        row = {
            "step": counters["step"],
            "examples": counters["examples"],
            "elapsed_s": round(counters["elapsed_s"], 1),
            "train_loss": round(window["loss"] / max(1, window["n"]), 4),
            "train_exact": round(window["exact"] / max(1, window["n"]), 4),
        }
        print(json.dumps(row), file=sys.stderr, flush=True)
        metrics.write(json.dumps(row) + "\n")
        metrics.flush()
        window.update(loss=0.0, exact=0.0, n=0)
        save_resume_state(out / "resume.safetensors", model, ema, optimizer, counters)
        save_checkpoint(model, ema, config, path, task_ids, counters)

    model.train()
    while time.time() - start < config.time_budget_s:
        for tokens, labels, ids in draw_batches(kind, rows, rng, config):
            progress = (time.time() - start) / config.time_budget_s
            scale = learning_rate_scale(
                counters["step"], progress, config.warmup_steps, config.min_lr_ratio
            )
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * scale
            loss, exact = train_step(
                model, optimizer, tokens, labels, ids, config.supervision_steps
            )
            counters["step"] += config.supervision_steps
            counters["examples"] += len(tokens)
            ema.update(model, counters["step"])
            window["loss"] += loss * len(tokens)
            window["exact"] += exact
            window["n"] += len(tokens)
        if time.time() - last_save >= config.save_every_s:
            snapshot()
            last_save = time.time()
    snapshot()
    return path


def save_checkpoint(model, ema, config, path, task_ids, counters) -> None:
    shadow = TRM(model.config)
    shadow.load_state_dict(ema.state_dict())
    card = checkpoint.ModelCard(
        kind=config.kind,
        config=model.config,
        task_ids=task_ids,
        training={
            "config": config.model_dump(exclude={"model"}),
            "optimizer_steps": counters["step"],
            "examples_seen": counters["examples"],
            "wall_clock_s": round(counters["elapsed_s"], 1),
            "device": f"cpu: {platform.processor() or 'cpu'} ({os.cpu_count()} cpu cores visible)",
            "torch": torch.__version__,
            "command": " ".join(["python -m trm_tool.pretrain", *sys.argv[1:]]),
        },
    )
    checkpoint.save(shadow.eval(), path, card)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", default="arc")
    parser.add_argument("--tiers", default="arc1,operations")
    parser.add_argument("--tier-weights", default=None, help="relative draw rates, e.g. 1,2")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--n-heads", type=int, default=2)
    parser.add_argument("--expansion", type=float, default=2.0)
    parser.add_argument("--n-latent-steps", type=int, default=2)
    parser.add_argument("--n-improve-steps", type=int, default=1)
    parser.add_argument("--batch-tokens", type=int, default=4096)
    parser.add_argument("--supervision-steps", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--time-budget", default="60m", help="total across resumes: 90, 23m, 1.5h")
    parser.add_argument("--save-every", default="15m")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="training/arc_fit")
    parser.add_argument("--resume", default=None, help="resume.safetensors of an earlier run")
    return parser


def config_from_args(args: argparse.Namespace) -> PretrainConfig:
    kind = get_kind(args.kind)
    tiers = args.tiers.split(",")
    model = TRMConfig(
        vocab_size=kind.vocab_size,
        hidden=args.hidden,
        n_heads=args.n_heads,
        expansion=args.expansion,
        n_latent_steps=args.n_latent_steps,
        n_improve_steps=args.n_improve_steps,
        max_supervision_steps=args.supervision_steps,
        n_puzzles=len(training_task_ids(kind, tiers)),
        puzzle_prefix_len=1,
        edge_positions=True,
    )
    return PretrainConfig(
        kind=args.kind,
        tiers=tiers,
        tier_weights=[float(w) for w in args.tier_weights.split(",")]
        if args.tier_weights
        else None,
        model=model,
        batch_tokens=args.batch_tokens,
        supervision_steps=args.supervision_steps,
        lr=args.lr,
        time_budget_s=parse_duration(args.time_budget),
        save_every_s=parse_duration(args.save_every),
        seed=args.seed,
        out=args.out,
        resume=args.resume,
    )


def main(argv: list[str] | None = None) -> None:
    config = config_from_args(build_parser().parse_args(argv))
    print(f"saved {pretrain(config)}")


if __name__ == "__main__":
    main()
