"""`trm-tool import-official`: convert a checkpoint of the official TRM code once.

The file is read and mapped onto our TRM by official_weights.py; this writes the result as
our safetensors + a model card that says where it came from (the file and its sha256, the
official code and config, the config fields assumed). Nothing in the library imports this
module: a converted checkpoint loads like any other, its card naming the official token
encoding (encodings.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .checkpoint import CheckpointError, ImportSource, ModelCard, save, sha256_of
from .model import TRM
from .official_weights import import_checkpoint

OFFICIAL_CODE = "SamsungSAILMontreal/TinyRecursiveModels@e7b68717f0a6c4cbb4ce6fbef787b14f42083bd9"


def import_to_dir(
    path: str | Path,
    kind: str,
    out: str | Path,
    config: str | Path | dict[str, Any] | None = None,
    identifiers: str | Path | None = None,
) -> Path:
    """Convert an official checkpoint once: `<out>/<kind>.safetensors` + its model card
    (source file and sha256, the official config, fields assumed). ARC: `identifiers` is
    the dataset's identifiers.json, naming the task of each puzzle-embedding row."""
    path = Path(path)
    ours, state, official, assumed = import_checkpoint(path, config, kind)
    task_ids = read_identifiers(identifiers, ours.n_puzzles) if identifiers else []
    model = TRM(ours)
    model.load_state_dict(state, strict=True)
    source = ImportSource(
        file=path.name,
        sha256=sha256_of(path),
        code=OFFICIAL_CODE,
        official_config=official.model_dump(),
        assumed=assumed,
    )
    card = ModelCard(
        kind=kind,
        config=ours,
        encoding="official",
        source=source,
        task_ids=task_ids,
        training={"trained_by": "the official TRM code; imported by trm-tool import-official"},
    )
    weights = Path(out) / f"{kind}.safetensors"
    if weights.exists():
        raise CheckpointError(f"{weights} already exists; choose another --out")
    save(model.eval(), weights, card)
    return weights


def read_identifiers(path: str | Path, rows: int) -> list[str]:
    """The official identifiers.json: a list of puzzle names, index = embedding row."""
    try:
        names = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"cannot read identifiers {path}: {err}") from err
    if not isinstance(names, list) or len(names) != rows:
        count = len(names) if isinstance(names, list) else type(names).__name__
        raise CheckpointError(
            f"{path} should list {rows} puzzle names (one per embedding row), has {count}"
        )
    return [str(name) for name in names]
