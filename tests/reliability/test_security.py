"""What the server promises a client cannot change (docs/serving.md, "What the server
promises"): the API key checked in constant time and never logged, body / puzzle / option
limits and the time budget capped by the server, no CORS, local-only by default."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest
import torch
from pydantic import SecretStr

from trm_tool import server as server_module
from trm_tool.cli import build_parser
from trm_tool.server import ServerSettings, create_app
from trm_tool.tool import MAX_PUZZLE_CHARS, SolverPool

from .fuzz import valid_texts
from .serving import running

KEY = "s3cret-key-that-must-not-leak-7f3a"
TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    torch.set_num_threads(1)
    pool = SolverPool({"maze": "/nonexistent.safetensors"}, device="cpu", retry_views=0)
    settings = ServerSettings(api_key=SecretStr(KEY), timeout_s=TIMEOUT_S)
    with running(create_app(pool, settings)) as base:
        yield base


def post(url: str, body: dict | bytes, key: str | None = KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if isinstance(body, bytes):
        headers["Content-Type"] = "application/json"
        return httpx.post(f"{url}/v1/solve", content=body, headers=headers, timeout=60)
    return httpx.post(f"{url}/v1/solve", json=body, headers=headers, timeout=60)


def test_the_key_is_compared_in_constant_time(url: str, monkeypatch: pytest.MonkeyPatch):
    compared, real = [], secrets.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(server_module.secrets, "compare_digest", recording)
    assert post(url, {"kind": "sudoku", "puzzle": "x"}, key="wrong").status_code == 401
    assert compared == [(b"wrong", KEY.encode())]


def test_the_key_is_never_logged_nor_echoed(url: str, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    answers = [
        post(url, {"kind": "sudoku", "puzzle": valid_texts("sudoku")[0]}),
        post(url, {"kind": "sudoku", "puzzle": "x"}, key=KEY + "x"),
        post(url, b"{not json"),
        httpx.get(f"{url}/metrics", headers={"X-API-Key": KEY}),
    ]
    assert [a.status_code for a in answers] == [200, 401, 422, 200]
    assert all(KEY not in a.text for a in answers)
    assert KEY not in caplog.text and KEY not in repr(ServerSettings(api_key=SecretStr(KEY)))


def test_a_client_cannot_raise_the_limits(url: str):
    too_big = b'{"kind": "sudoku", "puzzle": "' + b"1" * (300 * 1024) + b'"}'
    assert post(url, too_big).status_code == 413
    long = {"kind": "sudoku", "puzzle": "1" * (MAX_PUZZLE_CHARS + 1)}
    assert post(url, long).status_code == 422
    for option, value in [("views", 65), ("max_steps", 257), ("retry_views", 65)]:
        assert (
            post(url, {"kind": "sudoku", "puzzle": "x", "options": {option: value}}).status_code
            == 422
        )
    assert (
        post(url, {"kind": "sudoku", "puzzle": "x", "options": {"max_seconds": 601}}).status_code
        == 422
    )


def test_the_time_budget_a_client_asks_for_is_capped_by_the_server(url: str):
    """600 s asked, 0.9 x the server's timeout given: the answer (or a 504 at the timeout,
    where one step of 64 views outlasts the budget on a busy machine) comes within the
    timeout, and the search stops soon after instead of running on for 600 s."""
    options = {"max_seconds": 600, "views": 64, "retry_views": 64, "max_steps": 256}
    body = {"kind": "sudoku", "puzzle": valid_texts("sudoku")[3], "options": options}
    start = time.perf_counter()
    answer = post(url, body)
    assert answer.status_code in (200, 504), answer.text
    assert time.perf_counter() - start < TIMEOUT_S + 2
    while httpx.get(f"{url}/healthz").json()["in_flight"]:
        assert time.perf_counter() - start < 60, "the search ran on past its capped budget"
        time.sleep(0.1)


def test_no_cors_headers_unless_asked_for(url: str):
    origin = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    preflight = httpx.options(f"{url}/v1/solve", headers=origin)
    plain = httpx.get(f"{url}/healthz", headers=origin)
    for response in (preflight, plain):
        assert not any(h.lower().startswith("access-control-") for h in response.headers)


def test_the_server_listens_on_localhost_unless_told_otherwise():
    assert ServerSettings().host == "127.0.0.1"
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
