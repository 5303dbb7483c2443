"""Widen a trained TRM: more hidden channels, the same function, so training goes on from it.

A wider network from scratch would spend many CPU-hours relearning what the shipped one knows.
Instead the new channels start at zero and stay out of every computation until training moves
them:

- everything that writes into the stream (embeddings, each mixer's and SwiGLU's output, the
  initial answer and latent) writes zeros into the new channels, and new SwiGLU units are
  silenced by zero output weights;
- everything that reads the stream gets random weights on the new channels (they read zeros,
  so these change nothing, but they pass gradient back so the new channels can learn).

The one subtlety is the norm: RMSNorm over D' channels of which only D are nonzero returns the
old values times s = sqrt(D'/D). So the old stream is kept s times larger everywhere (initial
states, embeddings through the sqrt(D) embedding scale), each reader of the stream divides by s
and each writer multiplies by s, and the network computes what it did (up to the norm's eps).

Mixers: `mlp_t` (the MLP across positions acts channel by channel) and `conv` (depthwise);
attention would need its heads regrouped, and task embeddings (ARC) their width, so those are
refused.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .model import TRM

_WIDENABLE_MIXERS = ("mlp_t", "conv")


def widen(model: TRM, hidden: int, seed: int = 0) -> TRM:
    """A copy of `model` with `hidden` channels that computes the same function (see the module
    docstring); the new reading weights are drawn with `seed`."""
    config = model.config
    if config.mixer not in _WIDENABLE_MIXERS or config.n_puzzles or config.positions == "learned":
        raise ValueError(
            f"only {_WIDENABLE_MIXERS} networks without task embeddings or learned positions "
            f"can be widened; this one has mixer {config.mixer!r}, {config.n_puzzles} task "
            f"embeddings, positions {config.positions!r}"
        )
    if config.mixer == "mlp_t" and config.sequence_norm != "hidden":
        raise ValueError("an mlp_t network that normalises over positions cannot be widened")
    if hidden <= config.hidden or hidden % config.n_heads:
        raise ValueError(
            f"widen to more than {config.hidden} channels, a multiple of {config.n_heads} heads; "
            f"got {hidden}"
        )
    with torch.random.fork_rng():  # the caller's random state stays as it was
        torch.manual_seed(seed)
        wide = TRM(config.model_copy(update={"hidden": hidden}))
    wide = wide.to(next(model.parameters()).device)
    scale = math.sqrt(hidden / config.hidden)
    old = model.state_dict()
    new = wide.state_dict()
    with torch.no_grad():
        for name, tensor in old.items():
            _carry(name, tensor, new[name], config.hidden, scale)
    wide.load_state_dict(new)
    return wide


def _carry(name: str, old: Tensor, new: Tensor, dim: int, scale: float) -> None:
    """Write parameter `name` of the narrow network into its wide counterpart, in place."""
    if name in ("embed.weight", "edge_embed.weight"):
        new[:, dim:] = 0
        new[:, :dim] = old  # times s through the embedding scale sqrt(D') / sqrt(D)
    elif name in ("answer_init", "latent_init"):
        new[dim:] = 0
        new[:dim] = old * scale
    elif ".mixer.mlp." in name:  # mlp_t: positions in, positions out, channel by channel
        new.copy_(old / scale if "gate_up" in name else old * scale)
    elif name.endswith("mixer.local.weight"):  # depthwise: each channel its own kernel
        new[:dim] = old
    elif name.endswith("mixer.summary.weight"):
        new[dim:] = 0
        new[:dim, :dim] = old
    elif name.endswith("mlp.gate_up.weight"):
        units, wide_units = old.shape[0] // 2, new.shape[0] // 2
        new[:units, :dim] = old[:units] / scale
        new[wide_units : wide_units + units, :dim] = old[units:] / scale
    elif name.endswith("mlp.down.weight"):
        new.zero_()
        new[:dim, : old.shape[1]] = old * scale
    elif name in ("lm_head.weight", "aux_head.weight", "halt_head.weight"):
        new[:, :dim] = old / scale
    elif name == "halt_head.bias":
        new.copy_(old)
    else:
        raise ValueError(f"do not know how to widen {name}")
