"""Maze grids as the model's tokens: PAD=0, wall=1, open=2, start=3, goal=4, path=5."""

from __future__ import annotations

import torch

from ..base import Grid
from .grid import OPEN, PATH, one_route

VOCAB_SIZE = 6
WALL_TOKEN, OPEN_TOKEN, START_TOKEN, GOAL_TOKEN, PATH_TOKEN = 1, 2, 3, 4, 5
_CODE_TO_TOKEN = (OPEN_TOKEN, WALL_TOKEN, START_TOKEN, GOAL_TOKEN, PATH_TOKEN)
"""Token id of each code (indexed by code): PAD=0, wall=1, open=2, start=3, goal=4, path=5."""
_TOKEN_TO_CODE = {token: code for code, token in enumerate(_CODE_TO_TOKEN)}


def encode(grid: Grid) -> torch.Tensor:
    """Token ids of a grid at its own size, no padding: the model reads 2-D positions, so one
    set of weights serves every maze size."""
    codes = torch.tensor(grid, dtype=torch.int64)
    if codes.numel() and (codes.min() < OPEN or codes.max() > PATH):
        raise ValueError(f"Maze codes are {OPEN}..{PATH}; got {codes.min()}..{codes.max()}.")
    return torch.tensor(_CODE_TO_TOKEN, dtype=torch.int64)[codes]


def decode(tokens: torch.Tensor) -> Grid:
    """Codes of an [H, W] tensor of token ids; padding and unknown ids read as open cells. The
    model marks every cell of every shortest route (`all_shortest_routes`); where those marks
    hold several tied routes, one of them is kept (`one_route`)."""
    return one_route(
        [[_TOKEN_TO_CODE.get(token, OPEN) for token in row] for row in tokens.tolist()]
    )
