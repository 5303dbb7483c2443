"""The OpenAI-compatible chat route's key check and time limit, run for real: `trm-tool
serve`'s app with a chat service on 127.0.0.1, the official `openai` client and httpx, a
scripted chat model (the loop around it is what these tests are about)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
import torch
from langchain_core.messages import AIMessage
from pydantic import Field, SecretStr

from tests.test_chat_api import VERIFIED, ScriptedModel
from tests.test_server import running, sudoku_texts, wait_for
from trm_tool.chat_api import MODEL_NAME, ChatService
from trm_tool.server import ServerSettings, create_app
from trm_tool.tool import SolverPool

KEY = "chat-test-key"
LIMIT_S = 2.0
"""The server's limit for a chat turn in these tests."""
STUCK_S = 20.0
"""How long the stuck model's call hangs unless the test lets it go."""


class StuckModel(ScriptedModel):
    """ScriptedModel whose first call of a turn hangs until `gate` opens (at most STUCK_S):
    an LLM that is stuck. Its reply asks for a tool, so a turn that went on would call the
    model again; `calls` has each call's message count."""

    gate: threading.Event = Field(default_factory=threading.Event)
    calls: list[int] = Field(default_factory=list)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append(len(messages))
        if not any(isinstance(m, AIMessage) for m in messages):
            self.gate.wait(STUCK_S)
        return super()._generate(messages, stop, run_manager, **kwargs)


@pytest.fixture(scope="module")
def pool() -> SolverPool:
    torch.set_num_threads(1)
    return SolverPool(device="cpu", views=2, retry_views=0)


def test_a_wrong_key_is_an_openai_authentication_error(pool: SolverPool):
    settings = ServerSettings(api_key=SecretStr(KEY))
    app = create_app(pool, settings, ChatService(ScriptedModel(), pool))
    messages = [{"role": "user", "content": "hi"}]
    with running(app) as url:
        wrong = openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0, timeout=60)
        calls = [
            wrong.models.list,
            lambda: wrong.chat.completions.create(model=MODEL_NAME, messages=messages),
        ]
        for call in calls:
            with pytest.raises(openai.AuthenticationError) as caught:
                call()
            assert caught.value.status_code == 401
            body = caught.value.body
            assert body["type"] == "invalid_request_error" and body["code"] == "invalid_api_key"
            assert set(body) == {"message", "type", "param", "code"}, body
            assert "Missing or wrong API key" in body["message"]
            assert caught.value.response.headers["WWW-Authenticate"] == "Bearer"
        right = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=60)
        assert [model.id for model in right.models.list()] == [MODEL_NAME]

        solve = httpx.post(f"{url}/v1/solve", json={"puzzle": "x"}, headers={"X-API-Key": "no"})
        assert solve.status_code == 401 and list(solve.json()) == ["error"]  # its own shape

        spec = httpx.get(f"{url}/openapi.json", headers={"X-API-Key": KEY}).json()
        for path, method in [("/v1/models", "get"), ("/v1/chat/completions", "post")]:
            documented = spec["paths"][path][method]["responses"]["401"]
            content = documented["content"]["application/json"]
            assert content["schema"]["$ref"].endswith("/OpenAIErrorBody")
            sent = {field: value for field, value in body.items() if value is not None}
            assert content["example"]["error"] == sent  # FastAPI's OpenAPI leaves nulls out
            assert "WWW-Authenticate" in documented["headers"]
        schema = spec["components"]["schemas"]["OpenAIError"]
        assert set(schema["properties"]) == set(schema["required"]) == set(body)
        solve_401 = spec["paths"]["/v1/solve"]["post"]["responses"]["401"]
        assert solve_401["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_errors_before_the_route_are_in_openai_shape_too(pool: SolverPool):
    """413 (the body limit), 405 and 404 answer before any route runs; on the OpenAI-compatible
    routes they still come in OpenAI's shape, so the official client reads their message."""
    settings = ServerSettings(api_key=None, max_body_bytes=2048)
    app = create_app(pool, settings, ChatService(ScriptedModel(), pool))
    with running(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=60)
        long = [{"role": "user", "content": "x" * 4096}]
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model=MODEL_NAME, messages=long)
        assert caught.value.status_code == 413
        assert caught.value.body["type"] == "invalid_request_error"
        assert "larger than this server's limit of 2,048 bytes" in caught.value.message
        wrong_method = httpx.get(f"{url}/v1/chat/completions")
        assert wrong_method.status_code == 405, wrong_method.text
        error = wrong_method.json()["error"]
        assert error["type"] == "invalid_request_error" and error["code"] is None
        assert "GET /v1/chat/completions: Method Not Allowed" in error["message"]
        assert "/v1/chat/completions" in error["message"].split("Endpoints:")[1]
        too_large_solve = httpx.post(f"{url}/v1/solve", content=b"x" * 4096)
        assert too_large_solve.status_code == 413 and list(too_large_solve.json()) == ["error"]
        spec = httpx.get(f"{url}/openapi.json").json()
        documented = spec["paths"]["/v1/chat/completions"]["post"]["responses"]["413"]
        content = documented["content"]["application/json"]
        assert content["schema"]["$ref"].endswith("/OpenAIErrorBody")
        assert "larger than this server's limit" in content["example"]["error"]["message"]


@pytest.fixture()
def stuck(pool: SolverPool) -> Iterator[tuple[str, StuckModel]]:
    model = StuckModel()
    settings = ServerSettings(api_key=None, max_in_flight=1)  # one slot: a later turn needs it
    with running(create_app(pool, settings, ChatService(model, pool, LIMIT_S))) as url:
        try:
            yield url, model
        finally:
            model.gate.set()  # a failed test leaves no call hanging


def test_a_stuck_streamed_turn_ends_at_the_limit_and_frees_its_slot(
    stuck: tuple[str, StuckModel],
):
    url, model = stuck
    text = sudoku_texts(1, seed=7)[0]
    body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": text}], "stream": True}
    start = time.monotonic()
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60) as response:
        assert response.status_code == 200
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    seconds = time.monotonic() - start
    assert LIMIT_S <= seconds < LIMIT_S + 3, seconds  # not STUCK_S
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert error["message"] == f"The agent took longer than the server's limit of {LIMIT_S:g} s."
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "server_error"
    assert len(events) == 3  # the role, the error, [DONE]: no answer came

    in_flight = lambda: httpx.get(f"{url}/healthz").json()["in_flight"]  # noqa: E731
    assert in_flight() == 1  # the stuck call still holds its thread
    model.gate.set()  # the call returns; the turn stops at that step instead of going on
    wait_for(lambda: in_flight() == 0, "the stopped turn to free its slot", timeout=10)
    assert len(model.calls) == 1  # no tool call, no second call of the model

    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=60)
    reply = client.chat.completions.create(model=MODEL_NAME, messages=body["messages"])
    assert VERIFIED in reply.choices[0].message.content  # the next turn is served
