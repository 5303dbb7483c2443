"""`trm-tool mcp --http` run for real: the command in a subprocess on a free local port with
an API key, and the `mcp` Python client over streamable HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.test_server import MISSING_CHECKPOINT, REPO, VIEWS, sudoku_texts
from trm_tool.solver import Solver
from trm_tool.tool import SolverPool, describe

KEY = "mcp-test-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "trm_tool.cli", "mcp", "--http", "--port", str(port)]
    command += ["--device", "cpu", "--views", str(VIEWS), "--retry-views", "0"]
    command += ["--checkpoint", f"maze={MISSING_CHECKPOINT}"]
    env = os.environ | {"TRM_API_KEY": KEY, "OMP_NUM_THREADS": "1"}
    log = Path(tmp_path_factory.mktemp("mcp")) / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                httpx.get(base, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def solver() -> Solver:
    return SolverPool(device="cpu", views=VIEWS, retry_views=0).get("sudoku")


def session(url: str, key: str | None, calls: list[tuple[str, dict]]) -> tuple:
    """List the tools and make `calls` in one MCP session; returns (tools, results)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    async def run() -> tuple:
        async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
            async with Client(streamable_http_client(url, http_client=http)) as mcp:
                listed = await mcp.list_tools()
                results = [await mcp.call_tool(name, args) for name, args in calls]
                return listed.tools, results

    return asyncio.run(asyncio.wait_for(run(), 180))


def test_tools_over_streamable_http(url: str, solver: Solver):
    text = sudoku_texts(1, seed=11)[0]
    calls = [
        ("solve_sudoku", {"puzzle": text}),
        ("solve_grid_puzzle", {"puzzle": text}),
        ("solve_sudoku", {"puzzle": "hello there"}),
        ("solve_maze", {"puzzle": "#####\n#S.G#\n#####"}),
    ]
    tools, (solved, general, bad, no_model) = session(url, KEY, calls)
    names = [tool.name for tool in tools]
    assert names == ["solve_grid_puzzle", "solve_sudoku", "solve_maze", "solve_arc"]
    expected = describe(solver.solve(text))
    for result in (solved, general):
        assert not result.is_error
        assert [block.text for block in result.content] == [expected]
    assert "verified: yes" in expected
    assert bad.is_error and "No Sudoku grid found" in bad.content[0].text
    assert (
        no_model.is_error and "No trained model is available for maze" in no_model.content[0].text
    )


def test_without_the_key_mcp_is_refused(url: str):
    for key in (None, "wrong-key"):
        with pytest.raises(Exception) as caught:  # an ExceptionGroup from the client's tasks
            session(url, key, [])
        assert caught.group_contains(MCPError, match="error response")
        response = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert response.status_code == 401
        assert "API key" in response.json()["error"]
