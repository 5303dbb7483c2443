"""The HTTP API and the MCP server, run for real: uvicorn on a free local port, the shipped
Sudoku checkpoint, httpx clients in threads, and an MCP stdio session with a subprocess."""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import torch
import uvicorn
from fastapi import FastAPI

from trm_tool.puzzles import sudoku
from trm_tool.server import ServerSettings, create_app
from trm_tool.solver import Solver
from trm_tool.tool import SolverPool, describe, openai_tool_schemas, trm_tools

REPO = Path(__file__).resolve().parent.parent
API_KEY = "test-key-123"
VIEWS = 2


def sudoku_texts(n: int, seed: int = 0, tier: str = "singles") -> list[str]:
    rng = random.Random(seed)
    puzzles = [sudoku.KIND.generate(rng, tier)[0] for _ in range(n)]
    return [sudoku.KIND.render(puzzle, puzzle.grid) for puzzle in puzzles]


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread on a free port; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the server to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


MISSING_CHECKPOINT = "/nonexistent/maze.safetensors"
"""The maze model is pointed here, to see how a kind without a model is reported."""


@pytest.fixture(scope="module")
def pool() -> SolverPool:
    """Two views and no second round keep 64 concurrent solves quick; one torch thread avoids
    the thread oversubscription that slows a busy 2-core machine down tenfold."""
    torch.set_num_threads(1)
    return SolverPool({"maze": MISSING_CHECKPOINT}, device="cpu", views=VIEWS, retry_views=0)


@pytest.fixture(scope="module")
def solver(pool: SolverPool) -> Solver:
    return pool.get("sudoku")


@pytest.fixture(scope="module")
def client(pool: SolverPool) -> Iterator[httpx.Client]:
    settings = ServerSettings(api_key=None, max_in_flight=100)  # 64 clients + hang-ups
    with running(create_app(pool, settings)) as url:
        with httpx.Client(base_url=url, timeout=120) as http:
            yield http


def post_raw(client: httpx.Client, content: str | bytes) -> httpx.Response:
    return client.post("/v1/solve", content=content, headers={"Content-Type": "application/json"})


def error_of(response: httpx.Response) -> str:
    """The error message; every error body is exactly {"error": "..."}."""
    body = response.json()
    assert list(body) == ["error"], body
    return body["error"]


def counter(metrics: str, name: str, labels: str) -> float:
    match = re.search(rf"^{name}\{{{re.escape(labels)}\}} (\S+)$", metrics, re.M)
    return float(match.group(1)) if match else 0.0


# ---------------------------------------------------------------------------------------------
# One request at a time


def test_solve_round_trip_matches_direct_solve(client: httpx.Client, solver: Solver):
    text = sudoku_texts(1, seed=1)[0]
    direct = solver.solve(text)
    for kind in ("sudoku", "auto"):
        response = client.post("/v1/solve", json={"kind": kind, "puzzle": text})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["kind"] == "sudoku"
        assert body["grid"] == direct.grid
        assert body["solution_text"] == direct.solution_text
        assert body["verified"] == direct.verified


def test_options_reach_the_solver(client: httpx.Client):
    text = sudoku_texts(1, seed=2, tier="extreme")[0]
    options = {"views": 1, "max_steps": 1, "retry_views": 0}
    response = client.post("/v1/solve", json={"kind": "sudoku", "puzzle": text, "options": options})
    assert response.status_code == 200, response.text
    assert response.json()["views"] == 1
    assert response.json()["steps"] == 1
    # one step is too few for an extreme one: rounds of 2 fresh views run until the budget
    options.update(retry_views=2, max_seconds=0.5)
    response = client.post("/v1/solve", json={"kind": "sudoku", "puzzle": text, "options": options})
    body = response.json()
    assert body["views"] >= 1 + 2 and (body["views"] - 1) % 2 == 0
    assert body["verified"] is False and "time budget of 0.50 s" in body["cut_short"]


def test_one_solver_serves_each_request_with_its_own_views(client: httpx.Client, solver: Solver):
    """No sibling solvers per option set: both requests reach the pool's one Solver (its
    batching worker counts them), each searched with the views it asked for (one step, the
    budget's last, so no view's answer stops the others)."""
    text = sudoku_texts(1, seed=2, tier="extreme")[0]
    batches_before = len(solver.batch_sizes)
    views = []
    for asked in (1, 3):
        options = {"views": asked, "max_steps": 1, "retry_views": 0, "max_seconds": 0}
        body = {"kind": "sudoku", "puzzle": text, "options": options}
        response = client.post("/v1/solve", json=body)
        assert response.status_code == 200, response.text
        views.append(response.json()["views"])
    assert views == [1, 3]
    assert sum(solver.batch_sizes[batches_before:]) == 2
    assert solver.policy.views == VIEWS


BAD_REQUESTS = {
    "malformed JSON": ('{"kind": "sudoku", "puzzle": ', 422, ["not valid JSON"]),
    "not an object": ("[1, 2]", 422, ["valid dictionary", "Expected a JSON object"]),
    "missing fields": ("{}", 422, ["'puzzle' is missing"]),
    "puzzle not a string": ('{"kind": "sudoku", "puzzle": 5}', 422, ["'puzzle'", "string"]),
    "options of the wrong type": (
        '{"kind": "sudoku", "puzzle": "x", "options": {"views": "many"}}',
        422,
        ["'options.views'", "integer"],
    ),
    "unknown field": ('{"kind": "sudoku", "puzzle": "x", "grid": 1}', 422, ["'grid' is not"]),
    "unknown kind": ('{"kind": "chess", "puzzle": "x"}', 422, ["'kind'", "'sudoku'", "'maze'"]),
    "unparsable puzzle": (
        '{"kind": "sudoku", "puzzle": "hello there"}',
        422,
        ["Could not read the puzzle", "No Sudoku grid", "81-character"],
    ),
    "unrecognisable puzzle": (
        '{"kind": "auto", "puzzle": "hello there"}',
        422,
        ["Could not recognise the puzzle"],
    ),
    "kind without a model": (
        json.dumps({"kind": "maze", "puzzle": "#####\n#S.G#\n#####"}),
        404,
        ["No trained model is available for maze puzzles", MISSING_CHECKPOINT, "does not exist"],
    ),
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_bad_requests_get_a_4xx_that_says_what_is_wrong(client: httpx.Client, name: str):
    content, status, phrases = BAD_REQUESTS[name]
    response = post_raw(client, content)
    assert response.status_code == status, response.text
    message = error_of(response)
    for phrase in phrases:
        assert phrase in message, message


def test_unknown_routes_and_methods_answer_json(client: httpx.Client):
    assert "/v1/solve" in error_of(client.get("/v2/solve"))
    response = client.get("/v1/solve")
    assert response.status_code == 405
    assert "Method Not Allowed" in error_of(response)


def test_oversize_body_is_413_declared_or_streamed(client: httpx.Client):
    big = json.dumps({"kind": "sudoku", "puzzle": "." * 300_000}).encode()
    declared = post_raw(client, big)
    assert declared.status_code == 413
    assert "limit of 262,144 bytes" in error_of(declared)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
        for start in range(0, len(big), 16_384):
            yield big[start : start + 16_384]

    streamed = client.post("/v1/solve", content=chunks())
    assert streamed.status_code == 413
    assert "limit of 262,144 bytes" in error_of(streamed)


def test_tools_endpoint_serves_the_openai_schemas(client: httpx.Client, pool: SolverPool):
    response = client.get("/v1/tools")
    assert response.status_code == 200
    schemas = response.json()
    names = [schema["function"]["name"] for schema in schemas]
    assert names == ["solve_grid_puzzle", "solve_sudoku", "solve_maze", "solve_arc"]
    assert schemas == json.loads(json.dumps(openai_tool_schemas(trm_tools(pool))))


# ---------------------------------------------------------------------------------------------
# Many at once


def hang_up_after_sending(url: str, text: str) -> None:
    """A client that sends a whole request and closes the socket without reading."""
    body = json.dumps({"kind": "sudoku", "puzzle": text}).encode()
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = (
            f"POST /v1/solve HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)


def test_concurrent_clients_are_batched_and_get_their_own_answers(
    client: httpx.Client, solver: Solver
):
    texts, quitters = sudoku_texts(64, seed=3), sudoku_texts(4, seed=4)
    expected = solver.solve_many(texts)
    metrics_before = client.get("/metrics").text
    batches_before = len(solver.batch_sizes)
    start = threading.Barrier(len(texts) + len(quitters))
    url = str(client.base_url).rstrip("/")

    def ask(text: str) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=120) as own:
            start.wait()
            return own.post("/v1/solve", json={"kind": "sudoku", "puzzle": text})

    def quit_early(text: str) -> None:
        start.wait()
        hang_up_after_sending(url, text)

    with ThreadPoolExecutor(len(texts) + len(quitters)) as threads:
        hung_up = [threads.submit(quit_early, text) for text in quitters]
        responses = list(threads.map(ask, texts))
        for future in hung_up:
            future.result()

    assert [r.status_code for r in responses] == [200] * len(texts)
    # Each client gets an answer to its own puzzle: its givens kept, and where both runs
    # verified, the one solution (how far each gets within its time budget may differ).
    for response, text, alone in zip(responses, texts, expected):
        answer, givens = response.json(), sudoku.KIND.parse(text).grid
        assert all(g in (0, a) for gs, row in zip(givens, answer["grid"]) for g, a in zip(gs, row))
        if answer["verified"] and alone.verified:
            assert answer["grid"] == alone.grid
    assert sum(r.json()["verified"] for r in responses) > len(texts) // 2
    assert max(solver.batch_sizes[batches_before:]) > 1, solver.batch_sizes[batches_before:]

    wait_for(lambda: client.get("/healthz").json()["in_flight"] == 0, "abandoned solves")
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and "sudoku" in health.json()["models"]

    metrics = client.get("/metrics").text

    def increase(name: str, labels: str) -> float:
        return counter(metrics, name, labels) - counter(metrics_before, name, labels)

    answered = increase("trm_requests_total", 'endpoint="/v1/solve",status="200"')
    assert len(texts) <= answered <= len(texts) + len(quitters)
    timed = increase("trm_request_duration_seconds_count", 'endpoint="/v1/solve"')
    assert timed == answered
    merged = counter(metrics, "trm_solver_batch_size_bucket", 'kind="sudoku",le="1"')
    assert merged < counter(metrics, "trm_solver_batch_size_count", 'kind="sudoku"')
    assert "# TYPE trm_request_duration_seconds histogram" in metrics


# ---------------------------------------------------------------------------------------------
# Limits


def test_api_key_is_required_when_configured(pool: SolverPool):
    text = sudoku_texts(1, seed=5)[0]
    body = {"kind": "sudoku", "puzzle": text}
    with running(create_app(pool, ServerSettings(api_key=API_KEY))) as url:
        with httpx.Client(base_url=url, timeout=120) as http:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}):
                response = http.post("/v1/solve", json=body, headers=headers)
                assert response.status_code == 401
                assert "API key" in error_of(response)
            assert http.get("/metrics").status_code == 401
            bearer = {"Authorization": f"Bearer {API_KEY}"}
            assert http.post("/v1/solve", json=body, headers=bearer).status_code == 200
            assert http.get("/v1/tools", headers={"X-API-Key": API_KEY}).status_code == 200
            assert http.get("/healthz").status_code == 200  # probes need no key


def test_full_server_answers_503_and_slow_solve_504(pool: SolverPool, solver: Solver):
    text = sudoku_texts(1, seed=6)[0]
    body = {"kind": "sudoku", "puzzle": text}
    settings = ServerSettings(api_key=None, max_in_flight=1, timeout_s=1, retry_after_s=2)
    with running(create_app(pool, settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        in_flight = lambda: http.get("/healthz").json()["in_flight"]  # noqa: E731
        with solver.model_lock, ThreadPoolExecutor(1) as thread:  # the model is busy elsewhere
            first = thread.submit(http.post, "/v1/solve", json=body)
            wait_for(lambda: in_flight() == 1, "the first solve to start")
            busy = http.post("/v1/solve", json=body)
            assert busy.status_code == 503
            assert busy.headers["Retry-After"] == "2"
            assert "busy" in error_of(busy)
            slow = first.result()
            assert slow.status_code == 504
            assert "longer than the server's limit of 1 s" in error_of(slow)
            assert http.post("/v1/solve", json=body).status_code == 503  # still running
        wait_for(lambda: in_flight() == 0, "the abandoned solve to finish")
        assert http.post("/v1/solve", json=body).status_code == 200


def test_a_search_past_the_server_limit_ends_within_it(pool: SolverPool):
    """A budget past the server's per-solve limit (or none at all) is cut to 90% of it, so the
    best answer so far comes back instead of a 504 (ARC's 120 s behind a 30 s server)."""
    text = sudoku_texts(1, seed=2, tier="extreme")[0]
    options = {"views": 1, "max_steps": 1, "retry_views": 2, "max_seconds": 0}
    body = {"kind": "sudoku", "puzzle": text, "options": options}
    settings = ServerSettings(api_key=None, timeout_s=2)
    with running(create_app(pool, settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        response = http.post("/v1/solve", json=body)
    assert response.status_code == 200, response.text
    assert "time budget of 1.80 s" in response.json()["cut_short"]


# ---------------------------------------------------------------------------------------------
# MCP


def test_mcp_server_lists_the_tools_and_answers_over_stdio(solver: Solver, tmp_path: Path):
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    text = sudoku_texts(1, seed=8)[0]
    command = StdioServerParameters(
        command=sys.executable,
        args=["-m", "trm_tool.cli", "mcp", "--device", "cpu", "--views", str(VIEWS)]
        + ["--checkpoint", f"maze={MISSING_CHECKPOINT}"],
        env={"OMP_NUM_THREADS": "1"},
        cwd=REPO,
    )

    async def session() -> tuple:
        with open(tmp_path / "mcp.log", "w") as errlog:
            async with Client(stdio_client(command, errlog=errlog)) as mcp:
                listed = await mcp.list_tools()
                solved = await mcp.call_tool("solve_sudoku", {"puzzle": text})
                general = await mcp.call_tool("solve_grid_puzzle", {"puzzle": text})
                no_model = await mcp.call_tool("solve_maze", {"puzzle": "#####\n#S.G#\n#####"})
                return listed, solved, general, no_model

    listed, solved, general, no_model = asyncio.run(asyncio.wait_for(session(), 120))
    names = [tool.name for tool in listed.tools]
    assert names == ["solve_grid_puzzle", "solve_sudoku", "solve_maze", "solve_arc"]
    general_schema = listed.tools[0].input_schema
    assert general_schema["properties"]["kind"]["enum"] == ["auto", "sudoku", "maze", "arc"]
    expected = describe(solver.solve(text))
    for result in (solved, general):
        assert not result.is_error
        assert [block.text for block in result.content] == [expected]
    assert no_model.is_error
    assert "No trained model is available for maze puzzles" in no_model.content[0].text


# ---------------------------------------------------------------------------------------------
# OpenAPI: what apps that import tool servers read


def test_openapi_describes_solve_as_it_behaves(client: httpx.Client):
    spec = client.get("/openapi.json").json()
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"solve", "list_tools", "health", "metrics"} <= ids
    solve = spec["paths"]["/v1/solve"]["post"]
    assert solve["summary"] and solve["description"]
    body = solve["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/SolveRequest")
    request = spec["components"]["schemas"]["SolveRequest"]
    assert request["required"] == ["puzzle"]
    assert request["properties"]["kind"]["default"] == "auto"
    assert {"sudoku", "maze"} <= set(body["examples"])
    assert solve["responses"]["200"]["content"]["application/json"]["example"]["verified"]
    statuses = {"401", "404", "413", "422", "503", "504"}
    assert statuses <= set(solve["responses"])
    assert spec["components"]["schemas"]["ErrorBody"]["required"] == ["error"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for status in statuses:
        content = solve["responses"][status]["content"]["application/json"]
        assert content["schema"]["$ref"].endswith("/ErrorBody")
        assert list(content["example"]) == ["error"]
    assert "Retry-After" in solve["responses"]["503"]["headers"]

    # The documented examples are real requests: each one is accepted as it stands.
    sudoku_example = body["examples"]["sudoku"]["value"]
    response = client.post("/v1/solve", json=sudoku_example)  # no kind: auto
    assert response.status_code == 200, response.text
    assert response.json()["verified"] is True
    assert (
        response.json()["solution_text"]
        == solve["responses"]["200"]["content"]["application/json"]["example"]["solution_text"]
    )
