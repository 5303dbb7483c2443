"""bf16 autocast wherever the hardware runs bf16 matmuls natively.

On this project's CPU (AMD EPYC with AVX512-BF16) oneDNN's bf16 kernels run the shipped
networks 2-2.5x faster than fp32 with one thread (Sudoku, 8 views, 8 supervision steps: 1.11 s
-> 0.47 s; a training step of 96 Sudokus: 2.4-3.0 s -> 1.2-1.35 s; 32 mazes of 30x30: 2.9-3.6 s
-> 1.2-1.3 s), and CUDA GPUs do so too. Weights, optimizer state and losses stay fp32; CPUs
without native bf16 (where it would be emulated, and slower) stay in fp32."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from functools import cache

import torch


@cache
def _cpu_has_bf16() -> bool:
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def fast_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast speeds up matmuls on `device`."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and _cpu_has_bf16()


def autocast(device: torch.device) -> AbstractContextManager:
    """bf16 autocast on `device` where it is fast (`fast_bf16`), else nothing."""
    if not fast_bf16(device):
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)
