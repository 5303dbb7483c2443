"""The training core that train.py, pretrain.py and the test-time fit (fitting.py) share.

What every way of training does the same way lives here: the train state (the model, the EMA
of its weights, AdamW and the counters), one train step (a supervision step scored by
`TRM.loss`, then one optimizer step), the resume snapshot and the checkpoint with its model
card (both written so that a kill at any moment leaves the old or the new version), the
device, the metrics log and the learning-rate schedule. The callers supply the data plan and
the schedule: which batch comes next, at what learning rate, when to save.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from pydantic import BaseModel
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from . import checkpoint
from .model import EMA, TRM, Loss, make_optimizer
from .precision import autocast, fast_bf16


def resolve_device(name: str | torch.device) -> torch.device:
    """'auto': CUDA where there is a GPU, else the CPU; anything else as named."""
    if str(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def parse_duration(text: str) -> float:
    """'90', '90s', '23m', '1.5h' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def learning_rate_scale(step: int, progress: float, warmup_steps: int, min_ratio: float) -> float:
    """Linear warmup, then cosine decay (by progress through the run) to min_ratio."""
    warm = min(1.0, (step + 1) / max(1, warmup_steps))
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return warm * (min_ratio + (1 - min_ratio) * cosine)


def set_learning_rate(optimizer: torch.optim.Optimizer, scale: float) -> None:
    """Every parameter group at `scale` x its base learning rate."""
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * scale


class Counters(BaseModel):
    """How far a run has got, across resumes."""

    step: int = 0
    """Optimizer steps taken."""
    examples: int = 0
    elapsed_s: float = 0.0
    """Wall-clock seconds of training."""


@dataclass
class TrainState:
    """What a run trains and what a resume restores: model, EMA of its weights, AdamW,
    counters."""

    model: TRM
    ema: EMA
    optimizer: torch.optim.Optimizer
    counters: Counters = field(default_factory=Counters)

    @classmethod
    def create(
        cls, model: TRM, lr: float, embedding_lr: float, weight_decay: float, ema_decay: float
    ) -> TrainState:
        optimizer = make_optimizer(model, lr, embedding_lr, weight_decay)
        return cls(model, EMA(model, ema_decay), optimizer)

    def optimized(self) -> Iterable[torch.nn.Parameter]:
        """The optimizer's parameters in its order (the order their moments are saved in)."""
        return (p for group in self.optimizer.param_groups for p in group["params"])

    def save(self, path: Path) -> None:
        """The resume snapshot: weights, EMA and AdamW moments as safetensors (no pickle) with
        the counters in its metadata, so the one file is the whole state; the counters also as
        JSON beside it for people to read."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        tensors |= {f"ema.{k}": v for k, v in self.ema.state_dict().items()}
        for i, param in enumerate(self.optimized()):
            for key, value in self.optimizer.state.get(param, {}).items():
                if torch.is_tensor(value) and value.dim() > 0:
                    tensors[f"opt.{i}.{key}"] = value
        tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
        counters = self.counters.model_dump_json()
        with checkpoint.replaced_together(path, path.with_suffix(".json")) as (state, readable):
            save_file(tensors, str(state), metadata={"counters": counters})
            readable.write_text(json.dumps(self.counters.model_dump()))

    def load(self, path: Path) -> None:
        """Restore a resume snapshot (also those written before the counters moved into its
        metadata: their counters are in the JSON beside it)."""
        tensors = load_file(str(path))
        with safe_open(str(path), "pt") as f:
            counters = (f.metadata() or {}).get("counters")
        counters = counters or path.with_suffix(".json").read_text()
        self.counters = Counters.model_validate_json(counters)
        self.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        self.ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
        for i, param in enumerate(self.optimized()):
            prefix = f"opt.{i}."
            moments = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            if moments:
                self.optimizer.state[param] = {
                    "step": torch.tensor(float(self.counters.step)),
                    **{k: v.to(param.device) for k, v in moments.items()},
                }

    def ema_model(self) -> TRM:
        """A plain (uncompiled) copy of the model carrying the EMA weights, in eval mode. Built
        on the meta device and filled from the EMA, so it draws no random numbers: a snapshot
        leaves the run's random stream as it was."""
        with torch.device("meta"):
            shadow = TRM(self.model.config)
        shadow = shadow.to_empty(device=self.model.answer_init.device)
        shadow.load_state_dict(self.ema.state_dict())
        return shadow.eval()


@dataclass
class StepResult:
    """One train step: the carried state to pass on, the halting logit, the loss."""

    answer: torch.Tensor
    latent: torch.Tensor
    halt_logit: torch.Tensor
    loss: Loss


def train_step(
    model: TRM,
    optimizer: torch.optim.Optimizer,
    tokens: torch.Tensor,
    labels: torch.Tensor,
    ids: torch.Tensor | None,
    answer: torch.Tensor | None = None,
    latent: torch.Tensor | None = None,
    halt_weight: float = 0.5,
    grad_clip: float = 1.0,
    distributed: bool = False,
    aux_labels: torch.Tensor | None = None,
    nearest: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> StepResult:
    """One supervision step on a batch (tokens [B, H, W], labels [B, H*W], task rows `ids`)
    from the carried (answer, latent) (None: fresh), scored by `TRM.loss` (with the auxiliary
    target's `aux_labels` [B, H*W] for models that have one) against the labels, or where they
    hold several accepted answers, against the one `nearest` picks (`PuzzleKind.nearest_target`),
    then one optimizer step with clipped gradients (averaged across processes when
    `distributed`), in bf16 autocast where the device runs it fast (`precision`)."""
    with autocast(tokens.device):
        x = model.embed_question(tokens, ids)
        layout = model.layout(tokens.shape[1], tokens.shape[2], tokens.device)
        if answer is None:
            answer, latent = model.initial_state(x)
        output = model.supervision_step(x, answer.to(x.dtype), latent.to(x.dtype), layout)
    answer, latent, logits, halt_logit, aux_logits = output
    if nearest is not None:
        grid = tokens.shape
        labels = nearest(labels.view(grid), logits.view(*grid, -1)).flatten(1)
    aux = None if aux_logits is None or aux_labels is None else (aux_logits, aux_labels)
    loss = model.loss(logits, halt_logit, labels, halt_weight, aux=aux)
    optimizer.zero_grad(set_to_none=True)
    loss.total.backward()
    if distributed:
        for param in model.parameters():
            if param.grad is not None:
                dist.all_reduce(param.grad, op=dist.ReduceOp.AVG)
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return StepResult(answer, latent, halt_logit.detach(), loss)


def deep_supervision(
    model: TRM,
    optimizer: torch.optim.Optimizer,
    tokens: torch.Tensor,
    labels: torch.Tensor,
    ids: torch.Tensor,
    steps: int,
) -> tuple[float, int]:
    """`steps` train steps on one batch, (answer, latent) carried from each to the next, as the
    test-time fit and pretraining train; returns the last step's answer loss and how many
    answers it got exactly right."""
    device = model.answer_init.device
    tokens, labels, ids = tokens.to(device), labels.flatten(1).to(device), ids.to(device)
    answer = latent = None
    for _ in range(steps):
        result = train_step(model, optimizer, tokens, labels, ids, answer, latent)
        answer, latent = result.answer, result.latent
    return result.loss.answers.item(), int(result.loss.exact.sum())


def describe_device(device: torch.device) -> str:
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu"
    )
    dtype = "bf16 autocast" if fast_bf16(device) else "fp32"
    return f"{device.type}: {name} ({os.cpu_count()} cpu cores visible), {dtype}"


def save_checkpoint(
    state: TrainState,
    path: Path,
    kind: str,
    config: BaseModel,
    task_ids: list[str],
    command: str,
    device: torch.device,
    held_out: list[checkpoint.HeldOutResult] | None = None,
) -> None:
    """The EMA weights as a checkpoint, with a card saying how they were trained (`config`,
    the run's settings; `command`, the module that ran it) and what they scored."""
    counters = state.counters
    card = checkpoint.ModelCard(
        kind=kind,
        config=state.model.config,
        task_ids=task_ids,
        training={
            "config": config.model_dump(exclude={"model"}),
            "optimizer_steps": counters.step,
            "examples_seen": counters.examples,
            "wall_clock_s": round(counters.elapsed_s, 1),
            "device": describe_device(device),
            "torch": torch.__version__,
            "command": " ".join([command, *sys.argv[1:]]),
        },
        held_out=held_out or [],
    )
    checkpoint.save(state.ema_model(), path, card)


class MetricsLog:
    """A run's metrics.jsonl: one JSON row a line, appended and flushed as written; None: a
    log that writes nothing (the other processes of a distributed run)."""

    def __init__(self, path: Path | None):
        self.file = None
        if path is not None:
            _drop_torn_line(path)
            self.file = open(path, "a")

    def write(self, row: dict, echo: bool = False) -> None:
        """Append a row; `echo`: print it on stderr too."""
        if self.file is None:
            return
        if echo:
            print(json.dumps(row), file=sys.stderr, flush=True)
        self.file.write(json.dumps(row) + "\n")
        self.file.flush()


def _drop_torn_line(path: Path) -> None:
    """Cut a last line that a killed run left half written, so every line stays JSON."""
    if not path.is_file():
        return
    text = path.read_bytes()
    if text and not text.endswith(b"\n"):
        with open(path, "r+b") as f:
            f.truncate(text.rfind(b"\n") + 1)
