"""An official TRM checkpoint file as our one TRM: its config and its tensors, renamed.

The official code (SamsungSAILMontreal/TinyRecursiveModels, commit e7b68717) saves
`model.state_dict()` of `torch.compile(ACTLossHead(TinyRecursiveReasoningModel_ACTV1))`: a
plain dict of tensors whose keys start with `_orig_mod.model.inner.`. Reading one means:

  read the file without running code (torch.load(weights_only=True), or safetensors)
  -> strip the wrapper prefixes -> the official config (given, found next to the file, or
  inferred from tensor shapes and the official recipe) -> our TRMConfig -> rename every key
  and check every shape.

`checkpoint.import_official` returns the result; `official.import_to_dir` (the converter
behind `trm-tool import-official`) writes it as our safetensors + a model card.
"""

from __future__ import annotations

import json
import math
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor

from .errors import CheckpointError
from .model import TRM, TRMConfig
from .official_tokens import MAZE_WALL

KEY_PREFIXES = ("_orig_mod.", "model.", "inner.")
"""Wrappers around the official model: torch.compile, the loss head, the ACT wrapper."""

KIND_BY_VOCAB = {11: "sudoku", 6: "maze", 12: "arc"}
"""The official datasets' vocabularies differ, so the vocabulary names the kind."""


RECIPE: dict[str, Any] = {
    "H_cycles": 3,
    "halt_max_steps": 16,
    "num_heads": 8,
    "expansion": 4.0,
    "pos_encodings": "rope",
    "halt_exploration_prob": 0.1,
    "loss": {"loss_type": "stablemax_cross_entropy"},
}
"""config/arch/trm.yaml, used for what neither a given config nor the tensors say."""
KIND_RECIPE: dict[str, dict[str, Any]] = {
    "sudoku": {"L_cycles": 6, "mlp_t": True, "pos_encodings": "none", "seq_len": 81},
    "maze": {"L_cycles": 4, "seq_len": 900},
    "arc": {"L_cycles": 4, "seq_len": 900},
}
"""The README training commands per kind (Sudoku-Extreme, Maze-Hard, ARC-AGI)."""

TOP_KEYS = {
    "embed_tokens.embedding_weight": "embed.weight",
    "embed_pos.embedding_weight": "position_embed",
    "puzzle_emb.weights": "puzzle_embed.weight",
    "lm_head.weight": "lm_head.weight",
    "q_head.weight": "halt_head.weight",
    "q_head.bias": "halt_head.bias",
    "H_init": "answer_init",
    "L_init": "latent_init",
}
LAYER_KEYS = {
    "self_attn.qkv_proj.weight": "mixer.qkv.weight",
    "self_attn.o_proj.weight": "mixer.out.weight",
    "mlp_t.gate_up_proj.weight": "mixer.mlp.gate_up.weight",
    "mlp_t.down_proj.weight": "mixer.mlp.down.weight",
    "mlp.gate_up_proj.weight": "mlp.gate_up.weight",
    "mlp.down_proj.weight": "mlp.down.weight",
}
LAYER_KEY = re.compile(r"L_level\.layers\.(\d+)\.(.+)")


class OfficialConfig(BaseModel):
    """The official TinyRecursiveReasoningModel_ACTV1 config (the fields that shape the model)."""

    model_config = ConfigDict(extra="ignore")

    seq_len: int
    vocab_size: int
    num_puzzle_identifiers: int
    puzzle_emb_ndim: int
    puzzle_emb_len: int = 16
    H_cycles: int
    L_cycles: int
    L_layers: int
    hidden_size: int
    num_heads: int
    expansion: float
    pos_encodings: str
    halt_max_steps: int
    halt_exploration_prob: float
    loss: dict[str, Any] = {}
    # defaults of the official config class
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10_000.0
    mlp_t: bool = False
    no_ACT_continue: bool = True
    forward_dtype: str = "bfloat16"


# ---------------------------------------------------------------- reading the file


def read_tensors(path: Path) -> dict[str, Tensor]:
    """The file's tensors, read without running any code from it."""
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as err:
            raise CheckpointError(f"{path} is not a readable safetensors file: {err}") from err
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path} holds Python objects other than tensors, which loading would have to run "
            "as code; refused. An official checkpoint is a plain dict of tensors "
            f"(torch.save(model.state_dict())). Details: {str(err).splitlines()[0]}"
        ) from err
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a complete PyTorch checkpoint (truncated, or not a .pt file): {err}"
        ) from err
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        what = type(state).__name__
        raise CheckpointError(
            f"{path} holds a {what} that is not a dict of tensors; expected the official "
            "checkpoint, a state dict with keys such as _orig_mod.model.inner.lm_head.weight"
        )
    return state


def strip_prefixes(key: str) -> str:
    """The key without the torch.compile, loss-head and ACT wrapper prefixes."""
    for prefix in KEY_PREFIXES:
        key = key.removeprefix(prefix)
    return key


def our_key(official: str) -> str | None:
    """Our state-dict name of an official key (prefixes stripped); None if unknown."""
    if official in TOP_KEYS:
        return TOP_KEYS[official]
    match = LAYER_KEY.fullmatch(official)
    if match and match.group(2) in LAYER_KEYS:
        return f"net.blocks.{match.group(1)}.{LAYER_KEYS[match.group(2)]}"
    return None


# ---------------------------------------------------------------- the config


def read_config(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """An official config as a flat dict: a dict, the run's all_config.yaml (its `arch`
    section) or a config JSON; dataset values (seq_len, ...) may be missing."""
    if isinstance(source, dict):
        values = source
    else:
        path = Path(source)
        try:
            text = path.read_text()
            if path.suffix in (".yaml", ".yml"):
                import yaml

                values = yaml.safe_load(text)
            else:
                values = json.loads(text)
        except (OSError, ValueError) as err:
            raise CheckpointError(f"cannot read the official config {path}: {err}") from err
        if not isinstance(values, dict):
            raise CheckpointError(f"the official config {path} is not a mapping of fields")
    return {**values, **values.get("arch", {})}


def shape_facts(state: dict[str, Tensor]) -> dict[str, Any]:
    """What the tensors say about the config, unambiguously."""
    facts: dict[str, Any] = {}
    if "embed_tokens.embedding_weight" in state:
        facts["vocab_size"], facts["hidden_size"] = state["embed_tokens.embedding_weight"].shape
    layers = {m.group(1) for k in state if (m := LAYER_KEY.fullmatch(k))}
    facts["L_layers"] = len(layers)
    facts["mlp_t"] = any(".mlp_t." in k for k in state)
    table = state.get("puzzle_emb.weights")
    facts["num_puzzle_identifiers"], facts["puzzle_emb_ndim"] = (
        tuple(table.shape) if table is not None else (1, 0)
    )
    if table is None:
        facts["puzzle_emb_len"] = 0
    if "embed_pos.embedding_weight" in state:
        facts["pos_encodings"] = "learned"
    return facts


def prefix_len(ndim: int, length: int, hidden: int) -> int:
    """Puzzle-prefix positions, the official rule: none without a puzzle table, else the
    configured length, or ceil(ndim / hidden) when that is 0."""
    if ndim == 0:
        return 0
    return length or -(ndim // -hidden)


def positions_in_file(state: dict[str, Tensor]) -> int | None:
    """Total positions T (prefix + cells) where a tensor fixes it."""
    if "embed_pos.embedding_weight" in state:
        return state["embed_pos.embedding_weight"].shape[0]
    mlp_t = [v for k, v in state.items() if k.endswith("mlp_t.gate_up_proj.weight")]
    return mlp_t[0].shape[1] if mlp_t else None


def official_config(
    state: dict[str, Tensor], given: dict[str, Any], kind: str
) -> tuple[OfficialConfig, list[str]]:
    """The official config: given values, else the tensors' shapes, else the recipe of the
    kind. Returns it with the fields taken from the recipe (assumed, not known)."""
    known = {**shape_facts(state), **given}
    recipe = {**RECIPE, **KIND_RECIPE[kind]}
    if "seq_len" not in known and (total := positions_in_file(state)) is not None:
        length = known.get("puzzle_emb_len", OfficialConfig.model_fields["puzzle_emb_len"].default)
        ndim, hidden = known.get("puzzle_emb_ndim", 0), known.get("hidden_size", 1)
        known["seq_len"] = total - prefix_len(ndim, length, hidden)
    assumed = sorted(k for k in recipe if k not in known)
    try:
        config = OfficialConfig.model_validate({**recipe, **known})
    except ValidationError as err:
        raise CheckpointError(f"the official config is incomplete or invalid: {err}") from err
    return config, assumed


def to_trm_config(config: OfficialConfig, kind: str) -> TRMConfig:
    """Our TRMConfig for an official config; refuses what our TRM does not compute."""
    side = math.isqrt(config.seq_len)
    problems = [
        f"{name} is {value!r}, trm-tool supports {ours!r}"
        for name, value, ours in (
            ("no_ACT_continue", config.no_ACT_continue, True),
            ("rms_norm_eps", config.rms_norm_eps, 1e-5),
        )
        if value != ours
    ]
    if side * side != config.seq_len:
        problems.append(f"seq_len {config.seq_len} is not a square grid")
    if problems:
        raise CheckpointError("this official model cannot be imported: " + "; ".join(problems))
    has_table = config.puzzle_emb_ndim > 0
    positions = {"rope": "rotary_1d", "learned": "learned"}.get(config.pos_encodings, "none")
    loss_type = str(config.loss.get("loss_type", ""))
    try:
        return TRMConfig(
            vocab_size=config.vocab_size,
            hidden=config.hidden_size,
            n_heads=config.num_heads,
            expansion=config.expansion,
            n_blocks=config.L_layers,
            mixer="mlp_t" if config.mlp_t else "attention",
            grid_shape=(side, side),
            n_latent_steps=config.L_cycles,
            n_improve_steps=config.H_cycles,
            max_supervision_steps=config.halt_max_steps,
            n_puzzles=config.num_puzzle_identifiers if has_table else 0,
            puzzle_prefix_len=prefix_len(
                config.puzzle_emb_ndim, config.puzzle_emb_len, config.hidden_size
            ),
            puzzle_embed_dim=config.puzzle_emb_ndim if has_table else None,
            halt_exploration_prob=config.halt_exploration_prob,
            loss="stablemax" if "stablemax" in loss_type else "softmax",
            rope_theta=config.rope_theta,
            positions=positions,
            sequence_norm="positions",
            halt_outputs=2,
            canvas_fill=MAZE_WALL if kind == "maze" else None,
        )
    except ValidationError as err:
        raise CheckpointError(f"the official config does not make a valid TRM: {err}") from err


# ---------------------------------------------------------------- the import


def import_checkpoint(
    path: str | Path,
    config: str | Path | dict[str, Any] | None = None,
    kind: str | None = None,
) -> tuple[TRMConfig, dict[str, Tensor], OfficialConfig, list[str]]:
    """An official checkpoint as (our config, our float32 state dict, the official config,
    the config fields assumed from the recipe). `config` is the official config (a dict or
    file); without it the run's all_config.yaml next to the checkpoint is used, and the
    dataset's dataset.json there too; what they leave open comes from the tensor shapes."""
    path = Path(path)
    raw = read_tensors(path)
    state = {strip_prefixes(k): v for k, v in raw.items()}
    if config is None and (path.parent / "all_config.yaml").is_file():
        config = path.parent / "all_config.yaml"
    given = read_config(config) if config is not None else {}
    if (path.parent / "dataset.json").is_file():  # seq_len, vocab_size, puzzle identifiers
        given = {**read_config(path.parent / "dataset.json"), **given}
    vocab = shape_facts(state).get("vocab_size", given.get("vocab_size"))
    inferred = KIND_BY_VOCAB.get(vocab)
    if kind is None and inferred is None:
        raise CheckpointError(
            f"{path}: cannot tell the puzzle kind from a vocabulary of {vocab}; pass the kind"
        )
    kind = kind or inferred
    if kind not in KIND_RECIPE:
        raise CheckpointError(f"unknown kind {kind!r}; expected one of {sorted(KIND_RECIPE)}")
    if inferred is not None and inferred != kind:
        raise CheckpointError(
            f"{path} has the official {inferred} vocabulary ({vocab} tokens), not {kind}'s"
        )
    official, assumed = official_config(state, given, kind)
    ours = to_trm_config(official, kind)
    return ours, map_state(state, ours, path), official, assumed


def map_state(state: dict[str, Tensor], config: TRMConfig, path: Path) -> dict[str, Tensor]:
    """Rename every official tensor to ours, checking names and shapes against `config`."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in TRM(config).state_dict().items()}
    official_name = {}
    problems = []
    mapped = {}
    for key, value in state.items():
        name = our_key(key)
        if name is None or name not in expected:
            problems.append(f"unexpected key {key}")
            continue
        official_name[name] = key
        if tuple(value.shape) != expected[name]:
            problems.append(
                f"{key} has shape {list(value.shape)}, the config needs {list(expected[name])}"
            )
        mapped[name] = value.float()
    for name in expected.keys() - mapped.keys() - official_name.keys():
        problems.append(f"missing key {official_key(name)}")
    if problems:
        raise CheckpointError(
            f"{path} does not fit the official config ({len(problems)} problems): "
            + "; ".join(sorted(problems))
        )
    return mapped


def official_key(name: str) -> str:
    """The official key (without prefixes) of one of our state-dict names."""
    top = {ours: key for key, ours in TOP_KEYS.items()}
    if name in top:
        return top[name]
    block, rest = re.fullmatch(r"net\.blocks\.(\d+)\.(.+)", name).groups()
    layer = {ours: key for key, ours in LAYER_KEYS.items()}[rest]
    return f"L_level.layers.{block}.{layer}"
