"""Checkpoints: safetensors weights + a JSON model card. No pickle: loading runs no code.

`<stem>.safetensors` holds the weights; `<stem>.json` holds the card: the architecture config,
what the model was trained on and with what compute, held-out accuracy with the command that
measured it, and the sha256 of the weights file, checked on every load. Checkpoints of the
official TRM code are read by `import_official` (official_weights.py) and converted once
into this format by `trm-tool import-official` (official.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, Field, ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import CheckpointError
from .model import TRM, TRMConfig, count_parameters
from .official_weights import import_checkpoint

SHIPPED_DIR = Path(__file__).parent / "checkpoints"


class CheckpointMissing(CheckpointError):
    """No checkpoint at all (as opposed to one that is corrupted): a server may run without
    the kind, but must not run a model whose file fails its check."""


class HeldOutResult(BaseModel):
    """One measured number: exact accuracy on held-out data, and how to reproduce it."""

    split: str
    n: int
    exact: float
    command: str
    extra: dict[str, Any] = Field(default_factory=dict)


class ImportSource(BaseModel):
    """Where an imported checkpoint came from: the file, its sha256, the code that trained it,
    that code's config, and the config fields assumed from its recipe (not in the file)."""

    file: str
    sha256: str
    code: str
    official_config: dict[str, Any]
    assumed: list[str] = Field(default_factory=list)


class ModelCard(BaseModel):
    kind: str
    config: TRMConfig
    encoding: Literal["trm-tool", "official"] = "trm-tool"
    """Token encoding the model was trained on (official: the official TRM datasets')."""
    source: ImportSource | None = None
    """Set for checkpoints imported from the official TRM code."""
    sha256: str = ""
    dtype: str = "float32"
    parameters: int = 0
    task_ids: list[str] = Field(default_factory=list)
    """ARC: the task each per-puzzle embedding row belongs to, in row order."""
    training: dict[str, Any] = Field(default_factory=dict)
    """Data, steps, examples seen, wall-clock, device and the command that trained it."""
    held_out: list[HeldOutResult] = Field(default_factory=list)
    external: list[HeldOutResult] = Field(default_factory=list)
    """Accuracy on sets we did not generate: public collections, independent generators."""
    families: list[HeldOutResult] = Field(default_factory=list)
    """Per-family validation (evals/validate.py --record): extra says whether the family was in
    the training mix; promotion looks at the worst family."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def card_path(weights: Path) -> Path:
    return Path(weights).with_suffix(".json")


class SaveError(OSError):
    """A file could not be written (a full disk, say); the previous version is kept."""


@contextmanager
def replaced_together(*paths: Path) -> Iterator[list[Path]]:
    """Temporary paths beside `paths` for the caller to write; when the block ends they are
    flushed to disk and renamed over `paths`, so a crash at any moment leaves each file old or
    new, never torn. If writing fails (a full disk), the temporary files go, the old files
    stay, and SaveError says so. Two files are replaced by two renames, one after the other:
    see interrupted_card for a crash between them."""
    staged = [staged_path(path) for path in paths]
    try:
        yield staged
        for temporary in staged:
            _fsync(temporary)
    except BaseException as err:
        for temporary in staged:
            temporary.unlink(missing_ok=True)
        if isinstance(err, (OSError, SafetensorError)):
            names = ", ".join(str(path) for path in paths)
            message = f"could not write {names}: {err}; the previous version is kept"
            raise SaveError(message) from err
        raise
    for temporary, path in zip(staged, paths):
        os.replace(temporary, path)
    for folder in {path.parent for path in paths}:
        _fsync(folder)


def staged_path(path: Path) -> Path:
    """Where replaced_together writes the new version of `path`."""
    return path.with_name(path.name + ".tmp")


def interrupted_card(weights: Path) -> ModelCard | None:
    """The card of a save cut off between its two renames (its new weights in place, their
    card still the temporary file beside the old card), or None if that is not what happened.
    Loading reads it; the next save puts it in place first."""
    try:
        card = ModelCard.model_validate_json(staged_path(card_path(weights)).read_text())
    except (OSError, ValidationError):
        return None
    return card if weights.is_file() and card.sha256 == sha256_of(weights) else None


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def save(
    model: TRM, weights: Path | str, card: ModelCard, dtype: torch.dtype = torch.float32
) -> ModelCard:
    """Write weights (optionally cast, e.g. bf16 to ship small) and the card; return the card.
    Both are replaced only once both are written (replaced_together)."""
    weights = Path(weights)
    weights.parent.mkdir(parents=True, exist_ok=True)
    if interrupted_card(weights) is not None:  # finish the last save before starting this one
        os.replace(staged_path(card_path(weights)), card_path(weights))
    state = {
        name: (t.to(dtype) if t.dtype.is_floating_point else t).contiguous().cpu()
        for name, t in model.state_dict().items()
    }
    with replaced_together(weights, card_path(weights)) as (new_weights, new_card):
        save_file(state, str(new_weights), metadata={"kind": card.kind})
        card = card.model_copy(
            update={
                "config": model.config,
                "sha256": sha256_of(new_weights),
                "dtype": str(dtype).removeprefix("torch."),
                "parameters": count_parameters(model),
            }
        )
        new_card.write_text(card.model_dump_json(indent=2) + "\n")
    return card


def save_card(weights: Path | str, card: ModelCard) -> None:
    """Rewrite a card (e.g. after measuring held-out accuracy); the weights stay as they are."""
    with replaced_together(card_path(Path(weights))) as (new_card,):
        new_card.write_text(card.model_dump_json(indent=2) + "\n")


def load_card(weights: Path | str) -> ModelCard:
    path = card_path(Path(weights))
    try:
        return ModelCard.model_validate(json.loads(path.read_text()))
    except FileNotFoundError as err:
        raise CheckpointError(f"model card {path} is missing") from err
    except (json.JSONDecodeError, ValidationError) as err:
        raise CheckpointError(f"model card {path} is not a valid card: {err}") from err


def load(weights: Path | str, device: str | torch.device = "cpu") -> tuple[TRM, ModelCard]:
    """Load a model after checking the weights' sha256 against the card; float32 on device."""
    weights = Path(weights)
    if not weights.is_file():
        raise CheckpointMissing(f"checkpoint {weights} does not exist")
    card = load_card(weights)
    actual = sha256_of(weights)
    if actual != card.sha256:
        card = interrupted_card(weights) or card
    if actual != card.sha256:
        raise CheckpointError(
            f"checkpoint {weights} does not match its card: sha256 {actual[:16]}... "
            f"but the card says {card.sha256[:16]}...; the file is corrupted or was replaced"
        )
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"checkpoint {weights} is not a readable safetensors file: {err}"
        ) from err
    model = TRM(card.config)
    state = {k: (v.float() if v.dtype.is_floating_point else v) for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"checkpoint {weights} does not fit its config: {err}") from err
    return model.to(device).eval(), card


def resolve(kind: str, checkpoint: str | Path | None) -> Path:
    """The weights file of a checkpoint given as a file, as a directory holding
    `<kind>.safetensors` (what training and import-official write), or None: the shipped one."""
    if checkpoint is None:
        return shipped(kind)
    path = Path(checkpoint)
    if not path.is_dir():
        return path
    weights = path / f"{kind}.safetensors"
    if not weights.is_file():
        found = sorted(p.name for p in path.glob("*.safetensors"))
        raise CheckpointMissing(
            f"{path} has no {weights.name}; it holds: {', '.join(found) or 'no checkpoint'}"
        )
    return weights


def import_official(
    path: str | Path, config: str | Path | dict[str, Any] | None = None, kind: str | None = None
) -> tuple[TRMConfig, dict[str, torch.Tensor]]:
    """A checkpoint of the official TRM code as (our TRMConfig, our state dict), read without
    running code from the file; CheckpointError says which keys or shapes do not fit.
    `config`: the official config (dict, all_config.yaml or JSON); default: all_config.yaml
    next to the file, else inferred from shapes. `kind`: default from the vocabulary."""
    ours, state, _, _ = import_checkpoint(path, config, kind)
    return ours, state


def shipped(kind: str) -> Path:
    """Path of the shipped checkpoint for a puzzle kind."""
    path = SHIPPED_DIR / f"{kind}.safetensors"
    if not path.is_file():
        available = sorted(p.stem for p in SHIPPED_DIR.glob("*.safetensors"))
        raise CheckpointMissing(
            f"no shipped checkpoint for {kind!r}; shipped: {', '.join(available) or 'none'}"
        )
    return path
