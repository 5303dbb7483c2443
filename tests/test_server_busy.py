"""Bad input is answered for what it is even while every solve slot is busy: `/v1/solve` reads
the puzzle (422) and looks up its kind's model (404) before it takes a slot, so the client
learns what to fix instead of being told to retry (503). A real server on 127.0.0.1, httpx."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import torch

from tests.test_server import MISSING_CHECKPOINT, error_of, running, sudoku_texts, wait_for
from trm_tool.server import ServerSettings, create_app
from trm_tool.tool import SolverPool

BAD_INPUT = {
    "unparsable puzzle": (
        {"kind": "sudoku", "puzzle": "hello there"},
        422,
        ["Could not read the puzzle", "No Sudoku grid", "81-character"],
    ),
    "unrecognisable puzzle": (
        {"kind": "auto", "puzzle": "hello there"},
        422,
        ["Could not recognise the puzzle"],
    ),
    "kind without a model": (
        {"kind": "maze", "puzzle": "#####\n#S.G#\n#####"},
        404,
        ["No trained model is available for maze puzzles"],
    ),
}


@pytest.fixture(scope="module")
def pool() -> SolverPool:
    torch.set_num_threads(1)
    return SolverPool({"maze": MISSING_CHECKPOINT}, device="cpu", views=2, retry_views=0)


def test_bad_input_gets_its_4xx_while_every_slot_is_busy(pool: SolverPool):
    solver = pool.get("sudoku")
    good = {"kind": "sudoku", "puzzle": sudoku_texts(1, seed=6)[0]}
    settings = ServerSettings(api_key=None, max_in_flight=1, timeout_s=60)
    with running(create_app(pool, settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        in_flight = lambda: http.get("/healthz").json()["in_flight"]  # noqa: E731
        with ThreadPoolExecutor(1) as thread:
            with solver.model_lock:  # the one slot's solve waits for the model
                first = thread.submit(http.post, "/v1/solve", json=good)
                wait_for(lambda: in_flight() == 1, "the first solve to take the slot")
                assert http.post("/v1/solve", json=good).status_code == 503  # full indeed
                for body, status, phrases in BAD_INPUT.values():
                    response = http.post("/v1/solve", json=body)
                    assert response.status_code == status, response.text
                    message = error_of(response)
                    assert all(phrase in message for phrase in phrases), message
                assert in_flight() == 1  # bad input took no slot
            answer = first.result()
        assert answer.status_code == 200, answer.text  # the solve read before the slot runs
        assert answer.json()["kind"] == "sudoku"
        auto = http.post("/v1/solve", json=good | {"kind": "auto"})
        assert auto.status_code == 200 and auto.json()["grid"] == answer.json()["grid"]
