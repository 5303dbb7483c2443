"""The puzzle kind a checkpoint is fed through, by the token encoding its card names.

A model card says which encoding the model was trained on: "trm-tool" (each kind's own
encode/decode) or "official" (the official TRM datasets'). Where the two differ, ADAPTERS
holds the kind that speaks the other one; Sudoku and maze ids are the same in both, so only
official ARC has an entry.
"""

from __future__ import annotations

from collections.abc import Callable

from .model import TRMConfig
from .official_tokens import OfficialArc
from .puzzles import PuzzleKind

Adapter = Callable[[PuzzleKind, TRMConfig], PuzzleKind]

ADAPTERS: dict[tuple[str, str], Adapter] = {
    ("official", "arc"): lambda kind, config: OfficialArc(kind, config.grid_shape[0]),
}
"""(encoding, kind name) -> the kind with that encoding, for a model of that config."""


def kind_for(kind: PuzzleKind, encoding: str, config: TRMConfig) -> PuzzleKind:
    """`kind` as a model trained on `encoding` reads and writes it."""
    adapter = ADAPTERS.get((encoding, kind.name))
    return kind if adapter is None else adapter(kind, config)
