"""The agent as an OpenAI-compatible model, run for real: `trm-tool serve`'s app with a chat
service on a free local port, the official `openai` client, the shipped Sudoku checkpoint.
The fast tests drive our endpoint's loop with a scripted chat model; the slow one uses the
embedded SmolLM2 backend (agents.make_chat_model("local"))."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest
import torch
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agents.routing import PUZZLE_REFERENCE
from tests.test_server import running, sudoku_texts
from trm_tool.chat_api import MODEL_NAME, ChatService
from trm_tool.server import ServerSettings, create_app
from trm_tool.tool import SolverPool

VERIFIED = "verified: yes"


class ScriptedModel(BaseChatModel):
    """A tool-calling chat model that calls solve_sudoku on the user's puzzle by reference,
    then says one sentence: the loop around it is what these tests are about."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, **kwargs):
        return self.bind(tools=tools, **kwargs)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        called = any(isinstance(m, AIMessage) and m.tool_calls for m in messages)
        args = {"puzzle": PUZZLE_REFERENCE}
        call = {"name": "solve_sudoku", "args": args, "id": "call_1"}
        reply = AIMessage(content="Solved it.") if called else AIMessage("", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=reply)])


@pytest.fixture(scope="module")
def pool() -> SolverPool:
    torch.set_num_threads(1)
    return SolverPool(device="cpu", views=2, retry_views=0)


@contextmanager
def serving(pool: SolverPool, model: BaseChatModel) -> Iterator[str]:
    app = create_app(pool, ServerSettings(api_key=None), ChatService(model, pool))
    with running(app) as url:
        yield url


@pytest.fixture(scope="module")
def scripted(pool: SolverPool) -> Iterator[openai.OpenAI]:
    with serving(pool, ScriptedModel()) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="none", timeout=300)


def test_models_lists_the_agent(scripted: openai.OpenAI):
    assert [model.id for model in scripted.models.list()] == [MODEL_NAME]


def test_completion_carries_the_verified_solution(scripted: openai.OpenAI, pool: SolverPool):
    text = sudoku_texts(1, seed=3)[0]
    solution = pool.get("sudoku").solve(text).solution_text
    reply = scripted.chat.completions.create(
        model=MODEL_NAME, messages=[{"role": "user", "content": f"solve this:\n{text}"}]
    )
    answer = reply.choices[0].message.content
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert solution in answer and VERIFIED in answer and answer.startswith("Solved it.")
    assert reply.usage is not None


def test_stream_sends_the_tool_call_before_the_answer(scripted: openai.OpenAI, pool: SolverPool):
    text = sudoku_texts(1, seed=4)[0]
    solution = pool.get("sudoku").solve(text).solution_text
    stream = scripted.chat.completions.create(
        model=MODEL_NAME,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
        stream=True,
        stream_options={"include_usage": True},
    )
    steps, content, finish, usage = [], "", None, None
    for part in stream:
        usage = part.usage or usage
        for choice in part.choices:
            delta = choice.delta.model_dump()
            if delta.get("reasoning_content"):
                assert not content, "steps stream before the answer"
                steps.append(delta["reasoning_content"])
            content += delta.get("content") or ""
            finish = choice.finish_reason or finish
    assert steps[0] == "calling solve_sudoku\n"
    assert any(VERIFIED in step for step in steps[1:])
    assert solution in content and VERIFIED in content
    assert finish == "stop" and usage is not None


@pytest.mark.parametrize(
    "body, param",
    [
        ({"model": MODEL_NAME, "messages": []}, "messages"),
        ({"model": MODEL_NAME, "messages": [{"role": "robot", "content": "hi"}]}, "messages"),
        (
            {
                "model": MODEL_NAME,
                "messages": [{"role": "user", "content": "hi"}],
                "temperature": 9,
            },
            "temperature",
        ),
        ({"model": MODEL_NAME, "messages": [{"role": "assistant", "content": "hi"}]}, "messages"),
    ],
)
def test_bad_requests_get_the_openai_error_shape(scripted: openai.OpenAI, body, param):
    with pytest.raises(openai.BadRequestError) as caught:
        scripted.chat.completions.create(**body)
    error = caught.value.body
    assert set(error) == {"message", "type", "param", "code"}, error
    assert error["type"] == "invalid_request_error" and error["param"].startswith(param)
    raw = httpx.post(f"{scripted.base_url}chat/completions", content=b"{not json")
    assert raw.status_code == 400 and set(raw.json()["error"]) >= {"message", "type"}


@pytest.mark.slow
def test_embedded_llm_answers_a_pasted_sudoku(pool: SolverPool):
    """SmolLM2 through the endpoint, with and without streaming; and the same turn as a direct
    agent call, back to back, for the latency of the HTTP layer."""
    from agents import ask, build_agent, make_chat_model

    text = sudoku_texts(1, seed=5)[0]
    solution = pool.get("sudoku").solve(text).solution_text
    model = make_chat_model("local")
    try:
        with serving(pool, model) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", timeout=600)
            messages = [{"role": "user", "content": f"Please solve this sudoku:\n{text}"}]
            stream = client.chat.completions.create(
                model=MODEL_NAME, messages=messages, stream=True
            )
            content = "".join(p.choices[0].delta.content or "" for p in stream if p.choices)
            assert solution in content and VERIFIED in content
            start = time.perf_counter()  # warm now: the same turn, timed
            reply = client.chat.completions.create(model=MODEL_NAME, messages=messages)
            endpoint_s = time.perf_counter() - start
            answer = reply.choices[0].message.content
            assert solution in answer and VERIFIED in answer
            assert reply.usage.prompt_tokens > 0
        direct = ask(build_agent(model), f"Please solve this sudoku:\n{text}")
        assert solution in direct.text
        print(
            f"\nchat turn via endpoint {endpoint_s:.2f} s, direct {direct.latency_ms / 1e3:.2f} s"
        )
    finally:
        model.close()
