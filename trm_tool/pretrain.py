"""Pretrain the network that tasks are fitted from (fitting.py), the way fitting trains it.

train.py runs each tier on its full canvas with ACT slots: for ARC every grid costs 900
tokens however small it is, and most ARC grids are far smaller. A network that will be fitted
to each task is better pretrained the way the fit trains and predicts: a fixed number of
supervision steps per batch (trainer.deep_supervision) on canvases cropped to the grids at hand.

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
import random
import time
from pathlib import Path

import torch
from pydantic import BaseModel

from .data import IGNORE, Example, collate, task_rows, to_example, training_task_ids
from .fitting import crop
from .model import TRM, TRMConfig
from .puzzles import PuzzleKind, get_kind
from .trainer import (
    MetricsLog,
    TrainState,
    deep_supervision,
    learning_rate_scale,
    parse_duration,
    resolve_device,
    save_checkpoint,
    set_learning_rate,
)


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
    device: str = "auto"
    """'auto': CUDA where there is a GPU, else the CPU (trainer.resolve_device)."""


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


def pretrain(config: PretrainConfig, kind: PuzzleKind | None = None) -> Path:
    """Run to the time budget; returns the checkpoint path. `kind` overrides the registry
    lookup of config.kind (as in train.train)."""
    kind = kind or get_kind(config.kind)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    task_ids = training_task_ids(kind, config.tiers)
    if len(task_ids) != config.model.n_puzzles:
        raise ValueError(
            f"the model has {config.model.n_puzzles} task rows, the tiers have {len(task_ids)}"
        )
    rows = task_rows(task_ids)
    torch.manual_seed(config.seed)
    state = TrainState.create(
        TRM(config.model).to(resolve_device(config.device)),
        config.lr,
        config.embedding_lr,
        config.weight_decay,
        config.ema_decay,
    )
    if config.resume:
        state.load(Path(config.resume))
    counters = state.counters
    rng = random.Random(f"{config.seed}/{counters.step}")
    start, last_save = time.time() - counters.elapsed_s, time.time()
    log = MetricsLog(out / "metrics.jsonl")
    window = {"loss": 0.0, "exact": 0.0, "n": 0}
    state.model.train()
    while time.time() - start < config.time_budget_s:
        for tokens, labels, ids in draw_batches(kind, rows, rng, config):
            progress = (time.time() - start) / config.time_budget_s
            scale = learning_rate_scale(
                counters.step, progress, config.warmup_steps, config.min_lr_ratio
            )
            set_learning_rate(state.optimizer, scale)
            loss, exact = deep_supervision(
                state.model, state.optimizer, tokens, labels, ids, config.supervision_steps
            )
            counters.step += config.supervision_steps
            counters.examples += len(tokens)
            state.ema.update(state.model, counters.step)
            window["loss"] += loss * len(tokens)
            window["exact"] += exact
            window["n"] += len(tokens)
        if time.time() - last_save >= config.save_every_s:
            snapshot(state, config, task_ids, log, window, time.time() - start)
            last_save = time.time()
    snapshot(state, config, task_ids, log, window, time.time() - start)
    return out / f"{config.kind}.safetensors"


def snapshot(
    state: TrainState,
    config: PretrainConfig,
    task_ids: list[str],
    log: MetricsLog,
    window: dict,
    elapsed_s: float,
) -> None:
    """Log the training figures since the last snapshot (and start a new window), then save
    the resume state and the checkpoint."""
    counters = state.counters
    counters.elapsed_s = elapsed_s
    row = {
        "step": counters.step,
        "examples": counters.examples,
        "elapsed_s": round(counters.elapsed_s, 1),
        "train_loss": round(window["loss"] / max(1, window["n"]), 4),
        "train_exact": round(window["exact"] / max(1, window["n"]), 4),
    }
    log.write(row, echo=True)
    window.update(loss=0.0, exact=0.0, n=0)
    out = Path(config.out)
    state.save(out / "resume.safetensors")
    path = out / f"{config.kind}.safetensors"
    command = "python -m trm_tool.pretrain"
    device = state.model.answer_init.device
    save_checkpoint(state, path, config.kind, config, task_ids, command, device)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", default="arc", help="the puzzle kind (ARC)")
    parser.add_argument("--tiers", default="arc1,operations", help="comma-separated tiers")
    parser.add_argument("--tier-weights", default=None, help="relative draw rates, e.g. 1,2")
    parser.add_argument("--hidden", type=int, default=64, help="width of the network")
    parser.add_argument("--n-heads", type=int, default=2, help="attention heads")
    parser.add_argument("--expansion", type=float, default=2.0, help="SwiGLU width / hidden")
    parser.add_argument("--n-latent-steps", type=int, default=2, help="n")
    parser.add_argument("--n-improve-steps", type=int, default=1, help="T")
    parser.add_argument("--batch-tokens", type=int, default=4096, help="grid cells per batch")
    parser.add_argument("--supervision-steps", type=int, default=2, help="N_sup")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--time-budget", default="60m", help="total across resumes: 90, 23m, 1.5h")
    parser.add_argument("--save-every", default="15m", help="snapshot interval")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data stream and init")
    parser.add_argument(
        "--out", default="training/arc_fit", help="folder for checkpoint and resume state"
    )
    parser.add_argument("--resume", default=None, help="resume.safetensors of an earlier run")
    parser.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="where to train"
    )
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
        device=args.device,
    )


def main(argv: list[str] | None = None) -> None:
    config = config_from_args(build_parser().parse_args(argv))
    print(f"saved {pretrain(config)}")


if __name__ == "__main__":
    main()
