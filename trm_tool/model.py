"""The Tiny Recursive Model (TRM), after "Less is More: Recursive Reasoning with Tiny Networks".

One tiny network `net` (2 blocks) is applied over and over to three states of shape [B, L, D]:
  x: the embedded question (fixed),
  y: the current answer (decoded to tokens by `lm_head`),
  z: a latent scratchpad.

  improvement step:   n times  z <- net(z, x + y + z)     (think)
                      once     y <- net(y, z)             (revise the answer)
  supervision step:   T improvement steps; the first T-1 without gradient, the last with full
                      backpropagation through its recursion; then the answer is scored.
  deep supervision:   up to N_sup supervision steps per example; (y, z) are carried, detached,
                      from one to the next, and a halting head on position 0 learns when the
                      answer is right (ACT), so easy examples stop early.

Grids arrive as [B, H, W] token ids and are flattened row-major; attention gets 2-D rotary
positions (row, column), so one set of weights serves every grid size. The MLP-over-sequence
mixer ("mlp_t") replaces attention for fixed-size puzzles such as Sudoku. The "conv" mixer
(a 3x3 neighbourhood per cell plus the grid mean) suits local, size-generic problems such as
mazes: information moves one cell per block, so more recursion reaches further on big grids.

The official TRM code (SamsungSAILMontreal/TinyRecursiveModels) is a configuration of this
model (see `official.py`): 1-D rotary or learned positions over the flattened sequence, a
puzzle-table row narrower than the prefix (zero-padded), the mlp_t residual normalised over
positions, a two-output halting head (halt, continue) and a fixed canvas that smaller grids
are padded into. Its recursion, initial states, input scale and post-norm blocks are ours.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from pydantic import BaseModel, model_validator
from torch import Tensor, nn


class TRMConfig(BaseModel):
    """Everything that defines a TRM; saved next to its weights in every checkpoint."""

    vocab_size: int
    hidden: int = 512
    n_heads: int = 8
    expansion: float = 4.0
    n_blocks: int = 2
    mixer: Literal["attention", "mlp_t", "conv"] = "attention"
    grid_shape: tuple[int, int] | None = None
    """Fixed (H, W) of every input; required by the mlp_t mixer, unused by attention."""
    n_latent_steps: int = 6
    """n: latent updates per improvement step."""
    n_improve_steps: int = 3
    """T: improvement steps per supervision step (only the last one carries gradient)."""
    max_supervision_steps: int = 16
    """N_sup: supervision steps an example may take in training; the default inference budget."""
    n_puzzles: int = 0
    """Number of learned per-puzzle embeddings (ARC tasks); 0 disables them."""
    puzzle_prefix_len: int = 0
    """Prefix tokens that carry the per-puzzle embedding."""
    halt_exploration_prob: float = 0.1
    loss: Literal["softmax", "stablemax"] = "softmax"
    rope_theta: float = 10_000.0
    positions: Literal["rotary_2d", "rotary_1d", "learned", "none"] = "rotary_2d"
    """How attention knows where a token is: 2-D rotary (row, column; any grid size), 1-D
    rotary over the flattened sequence or a learned table added to the input (official TRM;
    learned needs grid_shape), or nothing."""
    puzzle_embed_dim: int | None = None
    """Width of a puzzle-table row, zero-padded to puzzle_prefix_len * hidden (official TRM
    tables are one hidden wide); None: the full prefix width."""
    sequence_norm: Literal["hidden", "positions"] = "hidden"
    """Axis the mlp_t mixer's residual is RMS-normalised over (official TRM: positions)."""
    halt_outputs: Literal[1, 2] = 1
    """Halting head outputs: the halt logit, or (halt, continue) as the official q_head;
    only the halt logit decides."""
    edge_positions: bool = False
    """Also add learned embeddings of each cell's distance to the four edges of its grid (the
    bounding box of the non-padding tokens, anchored top-left): rotary positions are relative
    only, so without them attention cannot find a cell's mirror image (ARC flips, rotations)."""
    aux_classes: int = 0
    """Classes of a per-cell auxiliary target read from the latent z at each supervision step
    (`PuzzleKind.auxiliary_target`; mazes: steps to the goal, mod aux_classes), so the
    recursion learns to carry what the answer depends on; 0: none."""
    canvas_fill: int | None = None
    """Inference pads grids smaller than grid_shape with this token and crops the answer back
    (official maze models saw only 30x30 mazes: pad with walls); None: grids run as given."""

    @model_validator(mode="after")
    def _check(self) -> TRMConfig:
        fixed = self.mixer == "mlp_t" or self.positions == "learned" or self.canvas_fill is not None
        if fixed and self.grid_shape is None:
            raise ValueError("the mlp_t mixer, learned positions and canvas_fill need grid_shape")
        rotary_split = {"rotary_2d": 4, "rotary_1d": 2}.get(self.positions, 1)
        if self.hidden % self.n_heads or (self.hidden // self.n_heads) % rotary_split:
            raise ValueError(
                f"hidden / n_heads must be a multiple of {rotary_split} ({self.positions})"
            )
        if (self.n_puzzles > 0) != (self.puzzle_prefix_len > 0):
            raise ValueError("n_puzzles and puzzle_prefix_len go together")
        prefix_width = self.puzzle_prefix_len * self.hidden
        if self.puzzle_embed_dim is not None and not 0 < self.puzzle_embed_dim <= prefix_width:
            raise ValueError(
                f"puzzle_embed_dim must be 1..puzzle_prefix_len * hidden ({prefix_width}), "
                f"got {self.puzzle_embed_dim}"
            )
        return self

    @property
    def puzzle_width(self) -> int:
        """Width of one row of the puzzle table."""
        return self.puzzle_embed_dim or self.puzzle_prefix_len * self.hidden


def sudoku_paper_config() -> TRMConfig:
    """TRM-MLP for Sudoku-Extreme in the paper: ~5M parameters, T=3, n=6."""
    return TRMConfig(vocab_size=11, mixer="mlp_t", grid_shape=(9, 9), n_improve_steps=3)


def maze_paper_config() -> TRMConfig:
    """TRM-Att for Maze-Hard in the paper: hidden 512, 8 heads, T=3, n=6; ~7M parameters."""
    return TRMConfig(vocab_size=6, mixer="attention", n_improve_steps=3, n_latent_steps=6)


def arc_paper_config(n_tasks: int) -> TRMConfig:
    """TRM-Att for ARC-AGI in the paper: hidden 512, 8 heads, T=3, n=4, per-task embeddings."""
    return TRMConfig(
        vocab_size=12,
        mixer="attention",
        n_improve_steps=3,
        n_latent_steps=4,
        n_puzzles=n_tasks,
        puzzle_prefix_len=16,
    )


EDGE_SLOTS = 32
"""Distances 0..30 to an edge, and one slot for cells outside the grid (padding)."""

LEARNED_POSITION_SCALE = 0.707106781
"""Learned positions are added to the input and the sum scaled by ~1/sqrt(2) (official TRM)."""

# ---------------------------------------------------------------- building blocks


def rms_norm(x: Tensor, eps: float = 1e-5) -> Tensor:
    """RMSNorm without a learned scale (as in the TRM reference network)."""
    return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps).to(x.dtype)


def trunc_normal_linear(fan_in: int, fan_out: int, bias: bool = False) -> nn.Linear:
    layer = nn.Linear(fan_in, fan_out, bias=bias)
    nn.init.trunc_normal_(layer.weight, std=1.0 / math.sqrt(fan_in), a=-2.0 / math.sqrt(fan_in))
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


def swiglu_width(dim: int, expansion: float) -> int:
    """Hidden width of a SwiGLU with about the parameters of a plain MLP of `expansion`,
    rounded up to a multiple of 256 as in the paper's networks."""
    return math.ceil(expansion * dim * 2 / 3 / 256) * 256


class SwiGLU(nn.Module):
    def __init__(self, dim: int, expansion: float):
        super().__init__()
        width = swiglu_width(dim, expansion)
        self.gate_up = trunc_normal_linear(dim, 2 * width)
        self.down = trunc_normal_linear(width, dim)

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


def rotary_2d(rows: Tensor, cols: Tensor, head_dim: int, theta: float) -> tuple[Tensor, Tensor]:
    """cos/sin tables [L, head_dim]: the first half of each head rotates with the row index,
    the second half with the column index."""
    quarter = head_dim // 4
    freqs = 1.0 / theta ** (torch.arange(quarter, dtype=torch.float32) / quarter)
    angles = torch.cat([rows[:, None] * freqs, cols[:, None] * freqs], dim=-1)  # [L, head_dim/2]
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def rotary_1d(length: int, head_dim: int, theta: float) -> tuple[Tensor, Tensor]:
    """cos/sin tables [length, head_dim] for positions 0..length-1 of a flattened sequence."""
    half = head_dim // 2
    freqs = 1.0 / theta ** (torch.arange(half, dtype=torch.float32) / half)
    angles = torch.arange(length, dtype=torch.float32)[:, None] * freqs
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def apply_rotary(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


@dataclass(frozen=True)
class GridLayout:
    """Where the tokens of a [B, prefix + H*W, D] state sit: what position-aware mixers need."""

    height: int
    width: int
    prefix: int
    rotary: tuple[Tensor, Tensor] | None  # cos/sin tables [prefix + H*W, head_dim]


class Attention(nn.Module):
    """Bidirectional multi-head self-attention; rotary positions where the layout has them."""

    def __init__(self, dim: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = trunc_normal_linear(dim, 3 * dim)
        self.out = trunc_normal_linear(dim, dim)

    def forward(self, x: Tensor, layout: GridLayout) -> Tensor:
        batch, length, dim = x.shape
        qkv = self.qkv(x).view(batch, length, 3, self.n_heads, dim // self.n_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B, heads, L, head_dim]
        if layout.rotary is not None:
            cos, sin = (t.to(x.dtype) for t in layout.rotary)
            q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        mixed = F.scaled_dot_product_attention(q, k, v)
        return self.out(mixed.transpose(1, 2).reshape(batch, length, dim))


class SequenceMLP(nn.Module):
    """The "mlp_t" mixer: a SwiGLU across positions instead of attention (fixed length).

    Its output starts at zero, so every block starts as a per-cell MLP. With the usual init a
    random mix of all positions lands on each cell in every block, and after the ~10 blocks
    of one recursion the cell's own token is lost: training then sat at loss ln 9 (uniform
    digits, not even the givens copied) for hundreds of steps."""

    def __init__(self, length: int, expansion: float):
        super().__init__()
        self.mlp = SwiGLU(length, expansion)
        nn.init.zeros_(self.mlp.down.weight)

    def forward(self, x: Tensor, layout: GridLayout) -> Tensor:
        return self.mlp(x.transpose(1, 2)).transpose(1, 2)


class GridConv(nn.Module):
    """The "conv" mixer: each cell mixes with its 3x3 neighbourhood (a depthwise convolution)
    and with the mean of all tokens (so position 0, read by the halting head, sees the whole
    grid). Same weights on every grid size; prefix tokens get only the mean."""

    def __init__(self, dim: int):
        super().__init__()
        self.local = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim, bias=False)
        self.summary = trunc_normal_linear(dim, dim)

    def forward(self, x: Tensor, layout: GridLayout) -> Tensor:
        batch, _, dim = x.shape
        prefix, cells = x[:, : layout.prefix], x[:, layout.prefix :]
        image = cells.transpose(1, 2).reshape(batch, dim, layout.height, layout.width)
        local = self.local(image).flatten(2).transpose(1, 2)
        local = torch.cat([torch.zeros_like(prefix), local], dim=1)
        return local + self.summary(x.mean(1, keepdim=True))


class Block(nn.Module):
    """Post-norm residual block: mix across positions, then a SwiGLU per position."""

    def __init__(self, config: TRMConfig, length: int | None):
        super().__init__()
        if config.mixer == "attention":
            self.mixer: nn.Module = Attention(config.hidden, config.n_heads)
        elif config.mixer == "conv":
            self.mixer = GridConv(config.hidden)
        else:
            self.mixer = SequenceMLP(length, config.expansion)
        self.mlp = SwiGLU(config.hidden, config.expansion)
        self.norm_positions = config.mixer == "mlp_t" and config.sequence_norm == "positions"

    def forward(self, x: Tensor, layout: GridLayout) -> Tensor:
        mixed = x + self.mixer(x, layout)
        if self.norm_positions:
            x = rms_norm(mixed.transpose(1, 2)).transpose(1, 2)
        else:
            x = rms_norm(mixed)
        return rms_norm(x + self.mlp(x))


class TinyNet(nn.Module):
    """The one network of the TRM: state <- blocks(state + injection)."""

    def __init__(self, config: TRMConfig, length: int | None):
        super().__init__()
        self.blocks = nn.ModuleList(Block(config, length) for _ in range(config.n_blocks))

    def forward(self, state: Tensor, injection: Tensor, layout: GridLayout) -> Tensor:
        hidden = state + injection
        for block in self.blocks:
            hidden = block(hidden, layout)
        return hidden


def edge_distances(tokens: Tensor) -> Tensor:
    """[B, H, W] tokens -> [B, H, W, 4] indices into the edge table: each cell's distance to
    the top, left, bottom and right edge of the grid (non-padding tokens, token 0 is padding),
    offset by edge; cells outside the grid take each edge's last slot."""
    _, height, width = tokens.shape
    filled = tokens != 0
    rows = torch.arange(height, device=tokens.device)
    cols = torch.arange(width, device=tokens.device)
    bottom = torch.where(filled.any(2), rows, -1).amax(1)  # [B] last filled row
    right = torch.where(filled.any(1), cols, -1).amax(1)
    row, col = rows[None, :, None], cols[None, None, :]
    distances = torch.stack(
        torch.broadcast_tensors(row, col, bottom[:, None, None] - row, right[:, None, None] - col),
        dim=-1,
    )
    inside = (row <= bottom[:, None, None]) & (col <= right[:, None, None])
    distances = torch.where(inside[..., None], distances.clamp(max=EDGE_SLOTS - 2), EDGE_SLOTS - 1)
    return distances + EDGE_SLOTS * torch.arange(4, device=tokens.device)


# ---------------------------------------------------------------- the recursive model


class StepOutput(NamedTuple):
    """What one supervision step (`TRM.supervision_step`) returns."""

    answer: Tensor  # [B, L, D] detached, carried to the next step
    latent: Tensor  # [B, L, D] detached, carried to the next step
    logits: Tensor  # [B, L - prefix, V]
    halt_logit: Tensor  # [B]
    aux_logits: Tensor | None  # [B, L - prefix, aux_classes]; None without aux_classes or grad


@dataclass
class SupervisionStep:
    """One supervision step of `TRM.steps`, for the examples still running."""

    number: int  # 1, 2, ...
    active: Tensor  # [n] batch indices of the examples this step ran on
    logits: Tensor  # [n, L - prefix, V] answer logits (on the canvas)
    tokens: Tensor  # [n, H, W] answer tokens, cropped to the input's shape
    halt_logit: Tensor  # [n]
    stopped: Tensor | None = None

    def stop(self, done: Tensor) -> None:
        """Take the examples marked in `done` (bool [n]) out of the batch: no more steps."""
        self.stopped = done


@dataclass
class Prediction:
    """What inference returns per example: answer tokens, step it halted at, confidence."""

    tokens: Tensor  # [B, H, W] predicted token ids
    steps: Tensor  # [B] supervision steps used
    confidence: Tensor  # [B] sigmoid of the final halting logit
    halt_logit: Tensor  # [B]

    @classmethod
    def empty(cls, tokens: Tensor) -> Prediction:
        """Zeros for a batch of [B, H, W] questions, filled in by `record`."""
        batch = torch.zeros(len(tokens), device=tokens.device)
        return cls(torch.zeros_like(tokens), batch.long(), batch.clone(), batch.clone())

    def record(self, step: SupervisionStep, done: Tensor) -> None:
        """Keep the answers of the examples that finish at this step (`done`: bool [n])."""
        finished = step.active[done]
        self.tokens[finished] = step.tokens[done]
        self.steps[finished] = step.number
        self.halt_logit[finished] = step.halt_logit[done].float()
        self.confidence[finished] = torch.sigmoid(self.halt_logit[finished])


class TRM(nn.Module):
    def __init__(self, config: TRMConfig):
        super().__init__()
        self.config = config
        dim = config.hidden
        length = None
        if config.grid_shape is not None:
            length = config.puzzle_prefix_len + config.grid_shape[0] * config.grid_shape[1]
        self.embed = nn.Embedding(config.vocab_size, dim)
        nn.init.trunc_normal_(self.embed.weight, std=1.0 / math.sqrt(dim))
        self.embed_scale = math.sqrt(dim)
        if config.n_puzzles:
            self.puzzle_embed = nn.Embedding(config.n_puzzles, config.puzzle_width)
            nn.init.zeros_(self.puzzle_embed.weight)
        if config.positions == "learned":
            self.position_embed = nn.Parameter(torch.empty(length, dim))
            nn.init.trunc_normal_(self.position_embed, std=1.0 / math.sqrt(dim))
        if config.edge_positions:
            self.edge_embed = nn.Embedding(4 * EDGE_SLOTS, dim)
            nn.init.trunc_normal_(self.edge_embed.weight, std=1.0 / math.sqrt(dim))
        self.net = TinyNet(config, length)
        self.lm_head = trunc_normal_linear(dim, config.vocab_size)
        if config.aux_classes:
            self.aux_head = trunc_normal_linear(dim, config.aux_classes)
        self.halt_head = nn.Linear(dim, config.halt_outputs)
        nn.init.zeros_(self.halt_head.weight)
        nn.init.constant_(self.halt_head.bias, -5.0)  # start by never halting
        self.register_buffer("answer_init", torch.randn(dim) / math.sqrt(dim))
        self.register_buffer("latent_init", torch.randn(dim) / math.sqrt(dim))

    # -- inputs

    def embed_question(
        self, tokens: Tensor, puzzle_ids: Tensor | None = None, task_vectors: Tensor | None = None
    ) -> Tensor:
        """[B, H, W] token ids (+ [B] puzzle ids, or [B, puzzle_width] task vectors fitted
        outside the table) -> x: [B, prefix + H*W, D], scaled by sqrt(D)."""
        x = self.embed(tokens.flatten(1))
        if self.config.edge_positions:
            x = x + self.edge_embed(edge_distances(tokens).flatten(1, 2)).sum(-2)
        if self.config.n_puzzles:
            if task_vectors is None:
                if puzzle_ids is None:
                    raise ValueError("this model needs puzzle ids")
                task_vectors = self.puzzle_embed(puzzle_ids)
            missing = self.config.puzzle_prefix_len * self.config.hidden - task_vectors.shape[-1]
            prefix = F.pad(task_vectors, (0, missing)).view(len(tokens), -1, self.config.hidden)
            x = torch.cat([prefix, x], dim=1)
        if self.config.positions == "learned":
            x = LEARNED_POSITION_SCALE * (x + self.position_embed.to(x.dtype))
        return x * self.embed_scale

    def layout(self, height: int, width: int, device: torch.device | str) -> GridLayout:
        """The layout of an H x W grid. 2-D rotary positions: prefix tokens sit at (-1, -1),
        cell (r, c) at (r, c); 1-D: prefix and cells numbered 0, 1, ... in sequence order."""
        config = self.config
        fixed = config.mixer == "mlp_t" or config.positions == "learned"
        if fixed and (height, width) != tuple(config.grid_shape):
            raise ValueError(
                f"this model reads {config.grid_shape[0]}x{config.grid_shape[1]} grids only, "
                f"got {height}x{width}"
            )
        head_dim = config.hidden // config.n_heads
        prefix = config.puzzle_prefix_len
        if config.positions == "rotary_2d":
            start = torch.full((prefix,), -1.0)
            rows = torch.cat([start, torch.arange(height).repeat_interleave(width).float()])
            cols = torch.cat([start, torch.arange(width).repeat(height).float()])
            cos, sin = rotary_2d(rows, cols, head_dim, config.rope_theta)
        elif config.positions == "rotary_1d":
            cos, sin = rotary_1d(prefix + height * width, head_dim, config.rope_theta)
        else:
            return GridLayout(height, width, prefix, None)
        return GridLayout(height, width, prefix, (cos.to(device), sin.to(device)))

    def initial_state(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Fresh (answer, latent) for a batch of embedded questions."""
        return (
            self.answer_init.to(x.dtype).expand_as(x).clone(),
            self.latent_init.to(x.dtype).expand_as(x).clone(),
        )

    # -- recursion

    def improve(
        self, x: Tensor, answer: Tensor, latent: Tensor, layout: GridLayout
    ) -> tuple[Tensor, Tensor]:
        """One improvement step: n latent updates, then one answer update."""
        for _ in range(self.config.n_latent_steps):
            latent = self.net(latent, x + answer, layout)
        answer = self.net(answer, latent, layout)
        return answer, latent

    def supervision_step(
        self, x: Tensor, answer: Tensor, latent: Tensor, layout: GridLayout
    ) -> StepOutput:
        """T improvement steps (gradient through the last only), then the answer is read.

        Returns the new (answer, latent) detached, ready to carry to the next supervision step,
        plus token logits [B, L - prefix, V], halting logits [B] and, with aux_classes while
        training (gradient enabled), the auxiliary logits [B, L - prefix, aux_classes], which
        carry gradient. Inference never reads the auxiliary head, so it skips it.
        """
        with torch.no_grad():
            for _ in range(self.config.n_improve_steps - 1):
                answer, latent = self.improve(x, answer, latent, layout)
        answer, latent = self.improve(x, answer, latent, layout)
        prefix = self.config.puzzle_prefix_len
        logits = self.lm_head(answer[:, prefix:])
        halt_logit = self.halt_head(answer[:, 0])[..., 0]
        training_aux = self.config.aux_classes and torch.is_grad_enabled()
        aux_logits = self.aux_head(latent[:, prefix:]) if training_aux else None
        return StepOutput(answer.detach(), latent.detach(), logits, halt_logit, aux_logits)

    def should_halt(self, halt_logit: Tensor, steps: Tensor) -> Tensor:
        """ACT: halt when the head says so or the budget is spent. In training, a random
        fraction of examples must first run a random minimum number of steps (exploration)."""
        budget = self.config.max_supervision_steps
        halted = (steps >= budget) | (halt_logit > 0)
        if self.training and self.config.halt_exploration_prob > 0:
            explore = torch.rand_like(halt_logit) < self.config.halt_exploration_prob
            min_steps = torch.randint_like(steps, 2, budget + 1)
            halted = halted & ~(explore & (steps < min_steps))
        return halted

    def loss(
        self,
        logits: Tensor,
        halt_logit: Tensor,
        labels: Tensor,
        halt_weight: float = 0.5,
        ignore_index: int = -100,
        aux: tuple[Tensor, Tensor] | None = None,
    ) -> Loss:
        """The training objective of one supervision step: the answer loss (answer_loss) plus
        `halt_weight` x the halting head's binary cross-entropy against whether the answer is
        exactly right, which teaches the head when to stop, plus the auxiliary target's loss
        where `aux` gives (its logits, its labels [B, L - prefix]). `labels`: [B, L - prefix]."""
        answers = answer_loss(logits, labels, self.config.loss, ignore_index)
        right = (logits.detach().argmax(-1) == labels) | (labels == ignore_index)
        exact = right.all(-1)
        halting = F.binary_cross_entropy_with_logits(halt_logit.float(), exact.float())
        total = answers + halt_weight * halting
        if aux is not None:
            total = total + answer_loss(*aux, "softmax", ignore_index)
        return Loss(total, answers, exact)

    @torch.no_grad()
    def steps(self, tokens: Tensor, puzzle_ids: Tensor | None = None) -> Iterator[SupervisionStep]:
        """Inference one supervision step at a time: yields each step's answers and halting
        logits for the examples still running. The caller decides when an example is done
        (its halt logit, a step budget, a deadline, an exact check of its answer) and takes it
        out with `step.stop(done)`; the recursion ends once every example is out."""
        shape = tokens.shape
        tokens = self.to_canvas(tokens)
        _, height, width = tokens.shape
        x = self.embed_question(tokens, puzzle_ids)
        answer, latent = self.initial_state(x)
        layout = self.layout(height, width, tokens.device)
        active = torch.arange(len(tokens), device=tokens.device)
        for number in itertools.count(1):
            answer, latent, logits, halt_logit, _ = self.supervision_step(x, answer, latent, layout)
            answers = logits.argmax(-1).view(-1, height, width)[:, : shape[1], : shape[2]]
            step = SupervisionStep(number, active, logits, answers, halt_logit)
            yield step
            if step.stopped is not None:
                keep = ~step.stopped
                active, x, answer, latent = active[keep], x[keep], answer[keep], latent[keep]
            if len(active) == 0:
                return

    @torch.no_grad()
    def predict(
        self,
        tokens: Tensor,
        puzzle_ids: Tensor | None = None,
        max_steps: int | None = None,
        early_halting: bool = True,
    ) -> Prediction:
        """Inference with per-example early halting: an example leaves the batch once its halt
        logit turns positive or `max_steps` (default N_sup; may be larger) is spent. Without
        early halting every example runs all `max_steps` (the reference way, for benchmarks,
        and the official TRM's evaluation)."""
        max_steps = max_steps or self.config.max_supervision_steps
        prediction = Prediction.empty(tokens)
        for step in self.steps(tokens, puzzle_ids):
            done = ((step.halt_logit > 0) & early_halting) | (step.number == max_steps)
            prediction.record(step, done)
            step.stop(done)
        return prediction

    def to_canvas(self, tokens: Tensor) -> Tensor:
        """[B, h, w] tokens at the top-left of the grid_shape canvas filled with canvas_fill
        (unchanged without canvas_fill); the answer is cropped back to [B, h, w]."""
        if self.config.canvas_fill is None:
            return tokens
        (height, width), (rows, cols) = self.config.grid_shape, tokens.shape[1:]
        if rows > height or cols > width:
            raise ValueError(f"this model reads grids up to {height}x{width}, got {rows}x{cols}")
        canvas = tokens.new_full((len(tokens), height, width), self.config.canvas_fill)
        canvas[:, :rows, :cols] = tokens
        return canvas


# ---------------------------------------------------------------- losses and EMA


@dataclass
class Loss:
    """`TRM.loss` of one supervision step."""

    total: Tensor  # the scalar to minimise
    answers: Tensor  # the answer loss alone
    exact: Tensor  # [B] bool: every labelled token right


def stablemax_cross_entropy(logits: Tensor, labels: Tensor, ignore_index: int = -100) -> Tensor:
    """Cross-entropy under stablemax, s(x) = x + 1 (x >= 0) or 1 / (1 - x): a softmax
    substitute that avoids the float blow-ups of exp() on long training runs."""
    logits = logits.double()
    s = torch.where(logits >= 0, logits + 1, 1 / (1 - logits))
    log_probs = torch.log(s / s.sum(-1, keepdim=True))
    valid = labels != ignore_index
    picked = log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (-picked * valid).float()


def token_loss(logits: Tensor, labels: Tensor, kind: str, ignore_index: int = -100) -> Tensor:
    """Per-token loss [B, L] (0 at ignored positions) with the configured output function."""
    if kind == "stablemax":
        return stablemax_cross_entropy(logits, labels, ignore_index)
    flat = F.cross_entropy(
        logits.float().flatten(0, 1), labels.flatten(), ignore_index=ignore_index, reduction="none"
    )
    return flat.view(labels.shape)


def answer_loss(logits: Tensor, labels: Tensor, kind: str, ignore_index: int = -100) -> Tensor:
    """The training objective on answers: per-token loss averaged over each example's labelled
    tokens, then over the batch (so big and small grids weigh the same)."""
    n_valid = (labels != ignore_index).sum(-1).clamp(min=1)
    return (token_loss(logits, labels, kind, ignore_index).sum(-1) / n_valid).mean()


class EMA:
    """Exponential moving average of a model's weights, used for evaluation and shipping.

    The decay warms up as (1 + step) / (10 + step) until it reaches `decay`: at a fixed 0.999
    a short CPU run's average is still mostly the random init (measured: a Sudoku run at 72%
    exact in training scored 0% through its EMA after 700 steps)."""

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()}

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Fold in the weights after optimizer step `step` (counted from 0)."""
        weight = 1 - self.decay_at(step)
        for name, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                self.shadow[name].lerp_(value.float(), weight)
            else:
                self.shadow[name].copy_(value)

    def state_dict(self) -> dict[str, Tensor]:
        return {k: v.clone() for k, v in self.shadow.items()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.shadow = {k: v.clone().float() for k, v in state.items()}


def make_optimizer(
    model: nn.Module, lr: float, embedding_lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    """AdamW with the task embeddings (if any) in their own group at `embedding_lr`; each group
    keeps its `base_lr` for schedules to scale."""
    puzzle = [p for n, p in model.named_parameters() if n.startswith("puzzle_embed")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("puzzle_embed")]
    groups = [{"params": rest, "lr": lr, "base_lr": lr}]
    if puzzle:
        groups.append({"params": puzzle, "lr": embedding_lr, "base_lr": embedding_lr})
    return torch.optim.AdamW(groups, betas=(0.9, 0.95), weight_decay=weight_decay)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
