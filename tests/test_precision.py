"""bf16 autocast where the hardware has it: matmuls in bf16 there, fp32 everywhere else, and
the shipped Sudoku model gives the same verified answers either way."""

import random

import torch

from trm_tool import precision
from trm_tool.checkpoint import load
from trm_tool.puzzles import get_kind
from trm_tool.solver.slices import run_rows

CPU = torch.device("cpu")


def test_matmuls_run_in_bf16_exactly_where_the_cpu_has_it():
    has_bf16 = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert precision.fast_bf16(CPU) == has_bf16
    a = torch.randn(4, 8)
    with precision.autocast(CPU):
        product = a @ a.T
    assert product.dtype == (torch.bfloat16 if has_bf16 else torch.float32)
    assert not precision.fast_bf16(torch.device("meta"))


def test_bf16_and_fp32_solve_the_same_sudokus(monkeypatch):
    kind = get_kind("sudoku")
    model, _ = load("trm_tool/checkpoints/sudoku.safetensors")
    pairs = [kind.generate(random.Random(f"precision/{i}"), "hard") for i in range(8)]
    encoded = [kind.encode(puzzle.grid) for puzzle, _ in pairs]

    def solved() -> list[bool]:
        answers = run_rows(model.eval(), encoded, [0] * 8, 8, lambda shape: 8)
        return [kind.decode(a.tokens) == solution for a, (_, solution) in zip(answers, pairs)]

    native = solved()
    monkeypatch.setattr(precision, "fast_bf16", lambda device: False)
    fp32 = solved()
    assert sum(fp32) >= 6, "the shipped model solves most hard Sudokus in one pass"
    assert abs(sum(native) - sum(fp32)) <= 1
