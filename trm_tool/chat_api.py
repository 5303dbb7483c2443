"""The LLM + TRM agent as an OpenAI-compatible model: `GET /v1/models` and
`POST /v1/chat/completions` (streaming with server-sent events), so any chat app that takes an
OpenAI base URL can use it, and `GET /`, a chat page over it (chat_page.html). Each request
runs our LangChain agent (agents.build_agent: the routing middleware, the TRM tools, the
configured LLM) on the conversation the client sends; the server keeps no state between
requests.

With `stream: true` the agent's steps (the tool call, its answer, ARC fit progress) stream as
`reasoning_content` deltas while they happen, and the final answer (the rendered solution with
its verified line) as `content`. Errors use OpenAI's shape:
`{"error": {"message", "type", "param", "code"}}` with a 4xx or 5xx status. A turn, streamed
or not, has `ChatService.timeout_s`: past it the answer is a 504, or a stream's last event
before `data: [DONE]`, and the turn stops at its next step.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .api_docs import CHAT_PROTECTED, openai_error_body
from .tool import SolverPool, trm_tools

if TYPE_CHECKING:
    from agents import AgentReply

MODEL_NAME = "trm-agent"
Push = Callable[[str], None]
"""Where a running turn reports a step (a line of text) for the stream."""


class ChatMessage(BaseModel):
    """One message of the conversation; only its text is used."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.get("text", "") for part in self.content)
        return self.content or ""


class ChatRequest(BaseModel):
    """The body of POST /v1/chat/completions; fields we do not use (top_p, ...) are ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_NAME
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=32_768)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=32_768)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stream_options: dict[str, Any] | None = None


class ChatError(Exception):
    """A failure answered in OpenAI's error shape (`openai_error_body`)."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.param, self.headers = status, message, param, headers

    def body(self) -> dict[str, Any]:
        return openai_error_body(self.status, self.message, self.param)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def parse_request(raw: bytes) -> ChatRequest:
    """The body as a ChatRequest, or a 400 saying which field is wrong."""
    try:
        request = ChatRequest.model_validate_json(raw)
    except ValidationError as err:
        first = err.errors()[0]
        param = ".".join(str(part) for part in first["loc"]) or None
        raise ChatError(
            400, f"Invalid request: {param or 'body'}: {first['msg']}.", param=param
        ) from None
    if request.messages[-1].role != "user":
        raise ChatError(400, "The last message must be the user's.", param="messages")
    if any(m.role == "tool" for m in request.messages):
        raise ChatError(400, "Tool messages are not accepted: this model runs its tools itself.")
    return request


def as_conversation(messages: list[ChatMessage]) -> list[tuple[str, str]]:
    """OpenAI messages as LangChain (role, text) pairs; developer counts as system."""
    roles = {"developer": "system", "assistant": "ai", "user": "user", "system": "system"}
    return [(roles[m.role], m.text()) for m in messages]


class StepReporter(BaseCallbackHandler):
    """Passes ARC fit progress (the tool's "trm_fit_progress" custom event) to the stream."""

    def __init__(self, push: Push):
        self.push = push

    def on_custom_event(self, name: str, data: Any, **_: Any) -> None:
        if name == "trm_fit_progress":
            loss = "no step yet" if data["loss"] is None else f"loss {data['loss']:.3f}"
            self.push(
                f"fitting to the demonstrations: step {data['step']}, {loss}, "
                f"{data['reproduced']}/{data['demonstrations']} reproduced\n"
            )


def describe_step(message: Any) -> str | None:
    """A line for the stream about a new agent message: a tool call or a tool's answer."""
    if isinstance(message, AIMessage) and message.tool_calls:
        return "".join(f"calling {call['name']}\n" for call in message.tool_calls)
    if isinstance(message, ToolMessage):
        verdict = next((ln for ln in message.text.splitlines() if ln.startswith("verified")), "")
        return f"{message.name} answered{': ' + verdict if verdict else ''}\n"
    return None


class ChatService:
    """Runs agent turns for the chat endpoint; one agent per (temperature, max_tokens)."""

    def __init__(self, model: BaseChatModel, pool: SolverPool, timeout_s: float = 300.0):
        self.model, self.tools, self.timeout_s = model, trm_tools(pool), timeout_s
        self._agents: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def agent(self, temperature: float | None, max_tokens: int | None) -> Any:
        from agents import build_agent

        fields = type(self.model).model_fields
        update = {"temperature": temperature, "max_tokens": max_tokens}
        update = {k: v for k, v in update.items() if v is not None and k in fields}
        key = tuple(sorted(update.items()))
        with self._lock:
            if key not in self._agents:
                model = self.model.model_copy(update=update) if update else self.model
                self._agents[key] = build_agent(model, tools=self.tools)
            return self._agents[key]

    def run(self, request: ChatRequest, push: Push, stop: threading.Event) -> AgentReply:
        """One agent turn on the request's conversation (blocking); steps go to `push`. Once
        `stop` is set (the turn is past the time limit, or its client left) the turn ends at
        its next step, and nobody reads what it returns."""
        from agents import reply_of

        limit = request.max_completion_tokens or request.max_tokens
        agent = self.agent(request.temperature, limit)
        messages = as_conversation(request.messages)
        config = {"callbacks": [StepReporter(push)]}
        start, seen, state = time.perf_counter(), len(messages), None
        for state in agent.stream({"messages": messages}, config, stream_mode="values"):
            if stop.is_set():
                break
            for message in state["messages"][seen:]:
                if step := describe_step(message):
                    push(step)
            seen = len(state["messages"])
        return reply_of(state, round((time.perf_counter() - start) * 1000, 1))

    def too_slow(self) -> ChatError:
        """The error for a turn past the time limit: a 504, or a stream's last event."""
        late = f"The agent took longer than the server's limit of {self.timeout_s:g} s."
        return ChatError(504, late)


def completion(reply: AgentReply, model: str, ident: str, created: int) -> dict[str, Any]:
    usage = {
        "prompt_tokens": reply.tokens_in,
        "completion_tokens": reply.tokens_out,
        "total_tokens": reply.tokens_in + reply.tokens_out,
    }
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": reply.text},
        "finish_reason": "stop",
    }
    return {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


def chunk(ident: str, created: int, model: str, delta: dict, finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [choice],
    }
    return f"data: {json.dumps(body)}\n\n"


def chat_router(service: ChatService, executor: ThreadPoolExecutor, slots: Any) -> APIRouter:
    """The two OpenAI-compatible routes; `slots` (the server's SolveSlots) bounds the turns
    running at once."""
    router = APIRouter()
    page = (files(__package__) / "chat_page.html").read_text(encoding="utf-8")

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def chat_page() -> HTMLResponse:
        """One self-contained page: the chat, with puzzles and solutions drawn."""
        return HTMLResponse(page)

    @router.get(
        "/v1/models",
        operation_id="list_models",
        summary="The agent as a model",
        responses=CHAT_PROTECTED,
    )
    async def models() -> dict:
        model = {"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "trm-tool"}
        return {"object": "list", "data": [model]}

    @router.post(
        "/v1/chat/completions",
        operation_id="chat_completions",
        summary="OpenAI-compatible chat with the LLM + TRM agent",
        responses=CHAT_PROTECTED,
    )
    async def chat(request: Request):
        """A turn of the agent on `messages`; `stream: true` answers server-sent events."""
        try:
            body = parse_request(await request.body())
        except ChatError as err:
            return err.response()
        if not slots.try_acquire():
            busy = f"The server is busy: all {slots.limit} slots are in use. Retry shortly."
            return ChatError(503, busy, headers={"Retry-After": "1"}).response()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        loop, stop = asyncio.get_running_loop(), threading.Event()

        def push(text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, ("step", text))

        def job() -> AgentReply:
            try:
                return service.run(body, push, stop)
            finally:
                slots.release()

        future = asyncio.wrap_future(executor.submit(job))
        future.add_done_callback(lambda _: queue.put_nowait(("done", None)))
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if body.stream:
            events = stream_events(body, future, queue, ident, created, service, stop)
            return StreamingResponse(events, media_type="text/event-stream")
        try:
            reply = await asyncio.wait_for(asyncio.shield(future), service.timeout_s)
        except asyncio.TimeoutError:
            stop.set()
            return service.too_slow().response()
        return completion(reply, body.model, ident, created)

    return router


async def stream_events(
    body: ChatRequest,
    future: asyncio.Future,
    queue: asyncio.Queue,
    ident: str,
    created: int,
    service: ChatService,
    stop: threading.Event,
) -> AsyncIterator[str]:
    """The turn as chat.completion.chunk events: steps as reasoning_content while they happen,
    then the answer as content, usage if asked, and `data: [DONE]`. Past the service's time
    limit for a turn, an error event saying so ends the stream instead. However the stream
    ends (the client may leave), `stop` then ends the turn at its next step, freeing its slot."""
    deadline = time.monotonic() + service.timeout_s
    try:
        yield chunk(ident, created, body.model, {"role": "assistant", "content": ""})
        while True:
            kind, step = await asyncio.wait_for(queue.get(), deadline - time.monotonic())
            if kind == "done":
                break
            yield chunk(ident, created, body.model, {"reasoning_content": step})
    except asyncio.TimeoutError:
        yield error_event(service.too_slow())
        return
    finally:
        stop.set()
    try:
        reply = future.result()
    except Exception as err:  # the stream has begun: the error goes into it
        yield error_event(ChatError(500, f"The agent failed: {err}"))
        return
    yield chunk(ident, created, body.model, {"content": reply.text})
    yield chunk(ident, created, body.model, {}, finish="stop")
    if (body.stream_options or {}).get("include_usage"):
        usage = completion(reply, body.model, ident, created)["usage"]
        final = {"id": ident, "object": "chat.completion.chunk", "created": created}
        final |= {"model": body.model, "choices": [], "usage": usage}
        yield f"data: {json.dumps(final)}\n\n"
    yield "data: [DONE]\n\n"


def error_event(error: ChatError) -> str:
    """An error in a stream that has begun (OpenAI's shape, as a data event), then the end."""
    return f"data: {json.dumps(error.body())}\n\ndata: [DONE]\n\n"


def make_llm(spec: str) -> BaseChatModel:
    """The chat model for `--llm`: `local`, `openai:<base_url>[#model]` or `hf:<dir>`."""
    from agents import make_chat_model

    backend, _, target = spec.partition(":")
    if backend == "local" and not target:
        return make_chat_model("local")
    if backend == "openai" and target:
        base_url, _, model = target.partition("#")
        return make_chat_model("openai", base_url=base_url, model=model or "default")
    if backend == "hf" and target:
        return make_chat_model("hf", model=target)
    raise ValueError(f"--llm {spec!r}: expected local, openai:<base_url>[#model] or hf:<dir>")
