"""A busy machine: a CPU solve runs torch on one thread (solver/threads.py says why) and
gives the thread's setting back afterwards. The figures: `python -m tests.reliability busy`."""

from __future__ import annotations

import torch

from trm_tool.solver import load_solver
from trm_tool.solver.threads import CPU_THREADS, torch_threads

from .fuzz import valid_texts


def test_a_cpu_solve_runs_its_model_on_one_thread():
    solver = load_solver("sudoku", device="cpu", views=1, retry_views=0)
    seen: set[int] = set()
    hooks = [
        module.register_forward_pre_hook(lambda *_: seen.add(torch.get_num_threads()))
        for module in solver.model.modules()
    ]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        solver.solve(valid_texts("sudoku")[0])
        assert seen == {CPU_THREADS}
        assert torch.get_num_threads() == 2
    finally:
        for hook in hooks:
            hook.remove()
        torch.set_num_threads(before)


def test_the_setting_holds_inside_the_block_only():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with torch_threads(None):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
