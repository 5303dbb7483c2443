"""Puzzle routing as LangChain agent middleware (`PuzzleRouting`), for
`langchain.agents.create_agent`.

- Before each model call (`wrap_model_call`): the user's puzzle is detected with our own
  parsers. For a backend that cannot choose tools, the turn's first call is the kind's tool
  on the puzzle by reference, written by the routing itself (a grammar would let the model
  write that one call only, so asking it would just cost a prompt's time); later calls get no
  tools and, after solved calls, a sentence's worth of tokens. A backend that can choose gets
  every tool with the reference offered. Every request carries a token limit; the model reads
  puzzles and solutions as short stand-ins (agents.standins), and templates without tool
  roles see past tool steps as text.
- Around each tool call (`wrap_tool_call`): "the puzzle above" and near-copies become the
  user's exact puzzle (agents.routing.resolve_arguments); the ToolMessage keeps what the LLM
  sent and what ran (`routing_of`).
- After the turn (`after_agent`): the final answer carries each tool solution verbatim with
  its verified line (or if a call limit ended the turn early): a solution stand-in the LLM
  wrote becomes the solution, and a solution it did not write is appended. The LLM never
  copies a grid.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain.agents.middleware.types import ExtendedModelResponse
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from trm_tool.solver import SolveResult

from .capabilities import DEFAULT_MAX_TOKENS, Capabilities
from .record import Routing
from .routing import (
    GENERAL_TOOL,
    PUZZLE_REFERENCE,
    conversation_puzzles,
    find_puzzle,
    offer_reference,
    resolve_arguments,
    tool_for,
)
from .standins import model_view, with_solutions

SOLVED_ANSWER_TOKENS = 32
"""After solved tool calls the model writes a sentence around the solutions, which it does not
copy (it sees stand-ins; the solutions are appended after its text)."""
ROUTING_KEY = "trm_routing"
"""Where a ToolMessage's `response_metadata` keeps its Routing (never sent to a model)."""
APPENDED_KEY = "trm_appended_solution"
"""Set in the final AIMessage's `response_metadata` when solutions were appended to it."""

ModelHandler = Callable[[ModelRequest], ModelResponse]


def routing_of(message: ToolMessage) -> Routing | None:
    """The Routing PuzzleRouting recorded on a ToolMessage, if any."""
    data = message.response_metadata.get(ROUTING_KEY)
    return Routing.model_validate(data) if data else None


def current_turn(messages: list[AnyMessage]) -> tuple[str, list[AnyMessage]]:
    """The latest user message's text and the messages after it."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return messages[i].text, list(messages[i + 1 :])
    return "", list(messages)


def solved(turn: list[AnyMessage]) -> list[ToolMessage]:
    """The turn's ToolMessages that carry a SolveResult."""
    return [m for m in turn if isinstance(m, ToolMessage) and isinstance(m.artifact, SolveResult)]


class PuzzleRouting(AgentMiddleware):
    """Routes grid puzzles to the TRM tools without depending on the LLM to notice or copy
    them; see the module docstring. `max_tokens`: the limit of requests that need no other."""

    def __init__(self, capabilities: Capabilities, max_tokens: int = DEFAULT_MAX_TOKENS):
        super().__init__()
        self.capabilities, self.max_tokens = capabilities, max_tokens

    # -- model calls ---------------------------------------------------------------------------

    def wrap_model_call(self, request: ModelRequest, handler: ModelHandler) -> ModelResponse:
        routed = self.routed_call(request)
        if routed is not None:
            return routed
        return _runnable_calls(handler(self.adapt(request)))

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> ModelResponse:
        routed = self.routed_call(request)
        if routed is not None:
            return routed
        return _runnable_calls(await handler(self.adapt(request)))

    def routed_call(self, request: ModelRequest) -> ModelResponse | None:
        """The forced tool call on the user's puzzle by reference, when this backend gets one
        (see `forced_tool`), written here in place of a model call."""
        text, turn = current_turn(request.messages)
        forced = self.forced_tool(
            text, turn, [_schema(t)["function"]["name"] for t in request.tools]
        )
        if forced is None:
            return None
        name, kind = forced
        args = {"kind": kind} if name == GENERAL_TOOL else {}
        call = {"name": name, "args": {**args, "puzzle": PUZZLE_REFERENCE}, "id": _call_id()}
        return ModelResponse(result=[AIMessage(content="", tool_calls=[call])])

    def adapt(self, request: ModelRequest) -> ModelRequest:
        """The request as this backend should get it (tools, tool choice, token limit,
        messages)."""
        _, turn = current_turn(request.messages)
        schemas = [offer_reference(_schema(tool)) for tool in request.tools]
        messages = model_view(request.messages)
        if self.capabilities.tool_history == "text":
            messages = as_text_history(messages)
        if self.capabilities.tool_choice == "auto" and schemas:
            tools, choice, limit = schemas, "auto", self.max_tokens
        else:
            tools, choice, limit = [], None, self.answer_limit(turn)
        own = request.model_settings.get("max_tokens")
        settings = {**request.model_settings, "max_tokens": min(limit, own or limit)}
        return request.override(
            tools=tools, tool_choice=choice, model_settings=settings, messages=messages
        )

    def forced_tool(
        self, text: str, turn: list[AnyMessage], tool_names: list[str]
    ) -> tuple[str, str] | None:
        """(tool, kind) to force: on a backend that cannot choose, for a puzzle in the user's
        message, on the turn's first model call."""
        if self.capabilities.tool_choice != "forced" or any(isinstance(m, AIMessage) for m in turn):
            return None
        found = find_puzzle(text)
        name = tool_for(found.kind, tool_names) if found else None
        return (name, found.kind) if name else None

    def answer_limit(self, turn: list[AnyMessage]) -> int:
        """A sentence's worth when every tool call so far was solved, else the full limit
        (a tool error may need explaining)."""
        tool_messages = [m for m in turn if isinstance(m, ToolMessage)]
        if not tool_messages or len(solved(turn)) < len(tool_messages):
            return self.max_tokens
        return min(SOLVED_ANSWER_TOKENS, self.max_tokens)

    # -- tool calls ----------------------------------------------------------------------------

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]
    ) -> ToolMessage | Command:
        routing = self.resolve(request)
        if routing is None:
            return handler(request)
        return _with_routing(handler(_using(request, routing)), routing)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]
    ) -> ToolMessage | Command:
        routing = self.resolve(request)
        if routing is None:
            return await handler(request)
        return _with_routing(await handler(_using(request, routing)), routing)

    def resolve(self, request: ToolCallRequest) -> Routing | None:
        """The arguments a puzzle tool call runs with (None for other tools)."""
        call = request.tool_call
        if request.tool is not None and "puzzle" not in _schema(request.tool)["function"][
            "parameters"
        ].get("properties", {}):
            return None
        messages = request.state["messages"] if isinstance(request.state, dict) else []
        text, turn = current_turn(messages)
        forced = self._forced_call(text, turn, call)
        found = find_puzzle(text) if forced else None
        args = call["args"] if isinstance(call.get("args"), dict) else {}
        resolution = resolve_arguments(call["name"], args, conversation_puzzles(messages), found)
        return Routing(
            args=args,
            args_used=resolution.args,
            referenced=resolution.referenced,
            snapped=resolution.snapped,
            reason=resolution.reason,
            forced=forced,
        )

    def _forced_call(self, text: str, turn: list[AnyMessage], call: dict[str, Any]) -> bool:
        """Whether routing forced this call: the turn's first model call, forced for the
        user's puzzle, made it."""
        first = next((m for m in turn if isinstance(m, AIMessage)), None)
        if first is None or call["id"] not in {c["id"] for c in first.tool_calls}:
            return False
        forced = self.forced_tool(text, [], [call["name"]])
        return forced is not None and forced[0] == call["name"]

    # -- the final answer ----------------------------------------------------------------------

    def after_agent(self, state: dict[str, Any], runtime: Any) -> dict[str, Any] | None:
        return deliver_solutions(state["messages"])

    async def aafter_agent(self, state: dict[str, Any], runtime: Any) -> dict[str, Any] | None:
        return deliver_solutions(state["messages"])


def deliver_solutions(messages: list[AnyMessage]) -> dict[str, Any] | None:
    """A state update whose last AIMessage carries every solution of the turn (the final
    AIMessage rewritten in place, or a new one if the turn ended without one)."""
    _, turn = current_turn(messages)
    results = solved(turn)
    if not results:
        return None
    last = turn[-1]
    final = last if isinstance(last, AIMessage) and not last.tool_calls else None
    text, appended = ensure_solutions(final.text if final else "", results)
    if not appended:
        return None
    metadata = {**(final.response_metadata if final else {}), APPENDED_KEY: True}
    if final is None:
        return {"messages": [AIMessage(content=text, response_metadata=metadata)]}
    update = {"content": text, "response_metadata": metadata}
    return {"messages": [final.model_copy(update=update)]}


def ensure_solutions(text: str, tool_messages: list[ToolMessage]) -> tuple[str, bool]:
    """`text` with every solved puzzle's solution, verbatim, and its verified line: solution
    stand-ins in it become the solutions, and what is still missing is appended from the
    tool's own message."""
    results = [message.artifact for message in tool_messages]
    out = with_solutions(text, results).rstrip()
    appended, seen = out != text.rstrip(), set()
    for message in tool_messages:
        solution = message.artifact.solution_text
        if solution in seen:
            continue
        seen.add(solution)
        if not contains_block(out, solution):
            out = f"{out}\n\n{message.text}".lstrip()
            appended = True
        elif _verified_line(message.text) not in out:
            out = f"{out}\n{_verified_line(message.text)}"
            appended = True
    return out, appended


def contains_block(text: str, block: str) -> bool:
    """True when the lines of `block` appear in `text` as whole lines that are not part of a
    larger grid (a neighbouring line of the same width would make them a fragment of one).
    Leading blanks count (an open maze cell at a row's start); trailing ones are invisible."""
    lines = [line.rstrip() for line in text.splitlines()]
    want = [line.rstrip() for line in block.strip("\n").splitlines()]
    for i in range(len(lines) - len(want) + 1):
        if lines[i : i + len(want)] != want:
            continue
        before = lines[i - 1] if i > 0 else ""
        after = lines[i + len(want)] if i + len(want) < len(lines) else ""
        if len(before) != len(want[0]) and len(after) != len(want[-1]):
            return True
    return False


def as_text_history(messages: list[AnyMessage]) -> list[AnyMessage]:
    """Tool steps as plain text, for chat templates without tool roles."""
    out: list[AnyMessage] = []
    for message in messages:
        if isinstance(message, AIMessage) and message.tool_calls:
            names = ", ".join(call["name"] for call in message.tool_calls)
            out.append(AIMessage(content=message.text or f"I will use the tool {names}."))
        elif isinstance(message, ToolMessage):
            out.append(
                HumanMessage(f"The tool {message.name or 'result'} returned:\n{message.text}")
            )
        else:
            out.append(message)
    return out


def _schema(tool: BaseTool | dict[str, Any]) -> dict[str, Any]:
    return convert_to_openai_tool(tool)


def _verified_line(content: str) -> str:
    return next(
        (line for line in content.splitlines() if line.startswith("verified:")), "verified: n/a"
    )


def _runnable_calls(response: Any) -> Any:
    """The model's response with named tool calls whose arguments did not parse turned into
    calls without arguments: routing can still run them on the user's puzzle."""
    if isinstance(response, ExtendedModelResponse):
        response.model_response = _runnable_calls(response.model_response)
        return response
    if isinstance(response, AIMessage):
        response = ModelResponse(result=[response])
    response.result = [_repaired(m) if isinstance(m, AIMessage) else m for m in response.result]
    return response


def _repaired(message: AIMessage) -> AIMessage:
    named = [bad for bad in message.invalid_tool_calls if bad.get("name")]
    if not named:
        return message
    calls = [
        {
            "name": bad["name"],
            "args": {},
            "id": bad.get("id") or _call_id(),
            "type": "tool_call",
        }
        for bad in named
    ]
    rest = [bad for bad in message.invalid_tool_calls if not bad.get("name")]
    return message.model_copy(
        update={"tool_calls": [*message.tool_calls, *calls], "invalid_tool_calls": rest}
    )


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:12]}"


def _using(request: ToolCallRequest, routing: Routing) -> ToolCallRequest:
    return request.override(tool_call={**request.tool_call, "args": routing.args_used})


def _with_routing(result: ToolMessage | Command, routing: Routing) -> ToolMessage | Command:
    if not isinstance(result, ToolMessage):
        return result
    metadata = {**result.response_metadata, ROUTING_KEY: routing.model_dump()}
    return result.model_copy(update={"response_metadata": metadata})
