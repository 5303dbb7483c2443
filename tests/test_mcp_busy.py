"""MCP over HTTP reads the puzzle and finds its model before it takes a solve slot, as
`/v1/solve` does: bad input is a tool error about the input even while every slot is busy.
The app served for real on 127.0.0.1, the `mcp` Python client over streamable HTTP."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx2
import torch
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.test_server import MISSING_CHECKPOINT, running, sudoku_texts, wait_for
from trm_tool.mcp_server import MCP_PATH, create_mcp_http_app
from trm_tool.server import ServerSettings
from trm_tool.tool import SolverPool


def call(url: str, tool: str, puzzle: str) -> tuple[bool, str]:
    """One tool call in its own MCP session: (is_error, text)."""

    async def run() -> tuple[bool, str]:
        async with httpx2.AsyncClient(timeout=120) as http:
            async with Client(streamable_http_client(url, http_client=http)) as mcp:
                result = await mcp.call_tool(tool, {"puzzle": puzzle})
                return result.is_error, result.content[0].text

    return asyncio.run(asyncio.wait_for(run(), 180))


def test_bad_input_is_a_tool_error_about_it_while_every_slot_is_busy():
    torch.set_num_threads(1)
    pool = SolverPool({"maze": MISSING_CHECKPOINT}, device="cpu", views=2, retry_views=0)
    solver = pool.get("sudoku")
    good = sudoku_texts(1, seed=6)[0]
    settings = ServerSettings(api_key=None, max_in_flight=1, timeout_s=60)
    app = create_mcp_http_app(pool, settings)
    with running(app) as base, ThreadPoolExecutor(1) as thread:
        url = base + MCP_PATH
        with solver.model_lock:  # the one slot's solve waits for the model
            first = thread.submit(call, url, "solve_sudoku", good)
            solving = lambda: any(t.name.startswith("trm-mcp") for t in threading.enumerate())  # noqa: E731
            wait_for(solving, "the first solve to take the slot")
            busy, text = call(url, "solve_sudoku", good)
            assert busy and "all 1 solve slots are in use" in text  # full indeed
            bad = call(url, "solve_sudoku", "hello there")
            assert bad[0] and "No Sudoku grid found" in bad[1], bad
            unknown = call(url, "solve_grid_puzzle", "hello there")
            assert unknown[0] and "Could not recognise the puzzle" in unknown[1], unknown
            no_model = call(url, "solve_maze", "#####\n#S.G#\n#####")
            assert no_model[0] and "No trained model is available for maze" in no_model[1]
        failed, answer = first.result()
    assert not failed and "verified: yes" in answer
