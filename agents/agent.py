"""A tool-calling agent on langchain-core that routes grid puzzles to the TRM tools.

One turn: the model is called (with the puzzle tool forced when routing says so, the puzzle
passed by reference), its tool calls run with copy-safe arguments, the ToolMessages go back,
and this repeats until the model answers without tool calls or `max_iterations` model calls
were made. The answer the user sees always carries each solution exactly as the tool rendered
it, with its verified flag.

    agent = build_agent(make_chat_model("local"))
    reply = agent.run("solve this sudoku: ...")        # AgentReply
    for event in agent.stream("solve this maze: ..."):  # AgentEvent: token, tool_call, ...
        ...
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_chunk_to_message,
)
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field

from trm_tool.solver import SolveResult
from trm_tool.tool import trm_tools

from .models import Capabilities, capabilities_of
from .routing import (
    PUZZLE_REFERENCE,
    FoundPuzzle,
    conversation_puzzles,
    find_puzzle,
    offer_reference,
    reference_schema,
    resolve_arguments,
    tool_for,
)

SYSTEM_PROMPT = (
    "You are a helpful assistant with exact puzzle solvers as tools. When the user gives a "
    "Sudoku, a maze or an ARC task, call the matching tool with the puzzle "
    f"{PUZZLE_REFERENCE!r} instead of copying it; do not solve it yourself. Give the tool's "
    "solution exactly as it returned it and say whether it was verified. Answer everything "
    "else normally and briefly."
)
REFERENCE_CALL_TOKENS = 32
"""Token limit of a forced call: its JSON, {"kind": "maze", "puzzle": "the puzzle above"} at
most, is under 20 tokens, and the grammar allows no other text."""
ANSWER_MARGIN_TOKENS = 64
"""After solved tool calls, a model without tools answers in at most the tools' text (a token
is at least one character) plus this for a sentence around it."""


class ToolCallRecord(BaseModel):
    """One tool call of a turn: what the LLM sent, what ran, and what came back."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    name: str
    args: dict[str, Any] = Field(description="arguments as the LLM sent them")
    raw_args: str | None = Field(default=None, description="unparseable arguments, verbatim")
    args_used: dict[str, Any] = Field(description="arguments the tool ran with")
    referenced: bool = Field(
        default=False,
        description="the LLM referred to the user's puzzle (PUZZLE_REFERENCE) instead of "
        "copying it; args_used holds that puzzle's exact text",
    )
    snapped: bool = Field(
        default=False, description="args_used replaced the LLM's (mis)copy of the puzzle"
    )
    reason: str | None = Field(default=None, description="why args_used differs from args")
    forced: bool = Field(default=False, description="the agent forced this tool")
    content: str = Field(default="", description="the ToolMessage text the LLM read")
    result: SolveResult | None = None
    error: str | None = None


class AgentReply(BaseModel):
    """The outcome of one user turn."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    text: str = Field(description="the final answer shown to the user")
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    iterations: int = Field(default=0, description="model calls made")
    appended_solution: bool = Field(
        default=False, description="the tool's solution was appended to the LLM's text"
    )
    messages: list[BaseMessage] = Field(
        default_factory=list, description="the conversation after this turn (for the next one)"
    )


class AgentEvent(BaseModel):
    """A streamed step: token (str), tool_call / tool_result (ToolCallRecord), final (reply)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    type: Literal["token", "tool_call", "tool_result", "final"]
    data: Any


class _Usage(BaseModel):
    tokens_in: int = 0
    tokens_out: int = 0
    iterations: int = 0

    def add(self, message: AIMessage, streamed_chunks: int = 0) -> None:
        usage = message.usage_metadata or {}
        self.tokens_in += usage.get("input_tokens", 0)
        self.tokens_out += usage.get("output_tokens", 0) or streamed_chunks
        self.iterations += 1


class Agent:
    """Runs turns of a conversation with tools; see the module docstring."""

    def __init__(
        self,
        model: BaseChatModel,
        tools: list[BaseTool],
        capabilities: Capabilities,
        max_iterations: int = 4,
        system_prompt: str = SYSTEM_PROMPT,
    ):
        self.model, self.tools, self.capabilities = model, tools, capabilities
        self.max_iterations, self.system_prompt = max(1, max_iterations), system_prompt
        self._by_name = {tool.name: tool for tool in tools}
        self._schemas = {tool.name: offer_reference(convert_to_openai_tool(tool)) for tool in tools}

    def run(self, text: str, history: list[BaseMessage] | None = None) -> AgentReply:
        """Answer one user message (after `history`, e.g. a previous reply's messages)."""
        reply = None
        for event in self._turn(text, history or [], stream=False):
            if event.type == "final":
                reply = event.data
        return reply

    def stream(self, text: str, history: list[BaseMessage] | None = None) -> Iterator[AgentEvent]:
        """Like `run`, as events: tokens of the model's text as they arrive, each tool call
        before it runs and after, then the final reply."""
        return self._turn(text, history or [], stream=True)

    def _turn(self, text: str, history: list[BaseMessage], stream: bool) -> Iterator[AgentEvent]:
        start = time.perf_counter()
        conversation = [*history, HumanMessage(text)]
        known = conversation_puzzles(conversation)
        found = find_puzzle(text)
        force = self._forced_tool(found)
        usage, records, answer, answered = _Usage(), [], "", False
        turn: list[BaseMessage] = []
        while usage.iterations < self.max_iterations and not answered:
            forced = force if not records else None
            runnable = self._bound(forced, found, records)
            message, chunks = yield from self._call_model(
                runnable, conversation + turn, stream and not forced
            )
            usage.add(message, chunks)
            calls = _calls_of(message)
            if not calls:
                answer, answered = message.text, True
                continue
            step = [self._record(call, known, forced, found) for call in calls]
            turn.append(_with_calls(message, step))
            for record in step:
                yield AgentEvent(type="tool_call", data=record)
                turn.append(self._execute(record))
                records.append(record)
                yield AgentEvent(type="tool_result", data=record)
        final, appended = ensure_solutions(answer, records)
        turn.append(AIMessage(content=final))
        reply = AgentReply(
            text=final,
            tool_calls=records,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            latency_ms=round((time.perf_counter() - start) * 1000, 1),
            iterations=usage.iterations,
            appended_solution=appended,
            messages=conversation + turn,
        )
        yield AgentEvent(type="final", data=reply)

    def _forced_tool(self, found: FoundPuzzle | None) -> str | None:
        if found is None or self.capabilities.tool_choice != "forced":
            return None
        return tool_for(found.kind, list(self._by_name))

    def _call_model(
        self, runnable: Runnable, messages: list[BaseMessage], stream: bool
    ) -> Iterator[AgentEvent]:
        """One model call (a generator: yields token events, returns (message, chunks))."""
        prompt = [SystemMessage(self.system_prompt), *self._for_model(messages)]
        if not stream:
            return runnable.invoke(prompt), 0
        total: AIMessageChunk | None = None
        chunks = 0
        for chunk in runnable.stream(prompt):
            if chunk.text:
                chunks += 1
                yield AgentEvent(type="token", data=chunk.text)
            total = chunk if total is None else total + chunk
        message = message_chunk_to_message(total) if total is not None else AIMessage(content="")
        return message, chunks

    def _bound(
        self, forced: str | None, found: FoundPuzzle | None, records: list[ToolCallRecord]
    ) -> Runnable:
        """The model with the tools it may (or must) use at this step and its token limit.
        A forced call refers to the user's puzzle, so it needs only a few tokens; a model
        without tools that answers after solved calls needs only enough to restate them
        (`ensure_solutions` delivers the solutions even if it is cut short)."""
        if forced and found is not None:
            schema = reference_schema(self._schemas[forced], found.kind)
            return self.model.bind_tools(
                [schema], tool_choice=forced, max_tokens=REFERENCE_CALL_TOKENS
            )
        if self.capabilities.tool_choice == "auto" and self._schemas:
            return self.model.bind_tools(list(self._schemas.values()), tool_choice="auto")
        limit = self._answer_limit(records)
        return self.model.bind(max_tokens=limit) if limit else self.model

    def _answer_limit(self, records: list[ToolCallRecord]) -> int | None:
        """Tokens enough to restate the tools' texts, when every call so far was solved;
        never more than the model's own limit."""
        if not records or any(record.result is None for record in records):
            return None
        needed = sum(len(record.content) for record in records) + ANSWER_MARGIN_TOKENS
        own = getattr(self.model, "max_tokens", None)
        return min(needed, own) if isinstance(own, int) else needed

    def _for_model(self, messages: list[BaseMessage]) -> list[BaseMessage]:
        """The conversation as this backend can read it (tool steps as text if need be)."""
        if self.capabilities.tool_history == "native":
            return messages
        out: list[BaseMessage] = []
        for message in messages:
            if isinstance(message, AIMessage) and message.tool_calls:
                names = ", ".join(call["name"] for call in message.tool_calls)
                out.append(AIMessage(content=message.text or f"I will use the tool {names}."))
            elif isinstance(message, ToolMessage):
                out.append(
                    HumanMessage(
                        f"The tool {message.name or 'result'} returned:\n{message.text}\n"
                        "Tell me the solution exactly as shown and whether it was verified."
                    )
                )
            else:
                out.append(message)
        return out

    def _record(
        self,
        call: dict[str, Any],
        known: list[FoundPuzzle],
        forced: str | None,
        found: FoundPuzzle | None,
    ) -> ToolCallRecord:
        args = call.get("args") if isinstance(call.get("args"), dict) else {}
        forced_for = found if forced == call["name"] else None
        resolution = resolve_arguments(call["name"], args, known, forced_for)
        return ToolCallRecord(
            id=call.get("id") or f"call_{uuid.uuid4().hex[:12]}",
            name=call["name"],
            args=args,
            raw_args=call.get("raw_args"),
            args_used=resolution.args,
            referenced=resolution.referenced,
            snapped=resolution.snapped,
            reason=resolution.reason,
            forced=forced == call["name"],
        )

    def _execute(self, record: ToolCallRecord) -> ToolMessage:
        """Run one call; every failure becomes a ToolMessage the LLM can read."""
        tool = self._by_name.get(record.name)
        if tool is None:
            known = ", ".join(self._by_name) or "none"
            message = ToolMessage(
                f"There is no tool named {record.name!r}; available tools: {known}.",
                tool_call_id=record.id,
                name=record.name,
                status="error",
            )
        else:
            call = {"type": "tool_call", "id": record.id, "name": record.name}
            message = tool.invoke({**call, "args": record.args_used})
        record.content = message.text
        if isinstance(message.artifact, SolveResult):
            record.result = message.artifact
        if message.status == "error":
            record.error = message.text
        return message


def _calls_of(message: AIMessage) -> list[dict[str, Any]]:
    """Tool calls to run: the valid ones, plus named ones whose arguments did not parse
    (routing can still run those on the conversation's puzzle)."""
    calls = [dict(call) for call in message.tool_calls]
    for bad in message.invalid_tool_calls:
        if bad.get("name"):
            calls.append(
                {"name": bad["name"], "args": {}, "id": bad.get("id"), "raw_args": bad.get("args")}
            )
    return calls


def _with_calls(message: AIMessage, records: list[ToolCallRecord]) -> AIMessage:
    """The model's message as the transcript keeps it: the calls with the arguments used."""
    calls = [
        {"name": r.name, "args": r.args_used, "id": r.id, "type": "tool_call"} for r in records
    ]
    return AIMessage(
        content=message.content,
        tool_calls=calls,
        id=message.id,
        usage_metadata=message.usage_metadata,
    )


def _verified_line(content: str) -> str:
    return next(
        (line for line in content.splitlines() if line.startswith("verified:")), "verified: n/a"
    )


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


def ensure_solutions(text: str, records: list[ToolCallRecord]) -> tuple[str, bool]:
    """`text` with every solved puzzle's solution, verbatim, and its verified flag: what the
    LLM dropped or altered is appended from the tool's own message."""
    out, appended, seen = text.rstrip(), False, set()
    for record in records:
        if record.result is None or record.result.solution_text in seen:
            continue
        seen.add(record.result.solution_text)
        if not contains_block(out, record.result.solution_text):
            out = f"{out}\n\n{record.content}".lstrip()
            appended = True
        elif "verified" not in out.lower():
            out = f"{out}\n{_verified_line(record.content)}"
            appended = True
    return out, appended


def build_agent(
    model: BaseChatModel,
    tools: list[BaseTool] | None = None,
    capabilities: Capabilities | None = None,
    max_iterations: int = 4,
    system_prompt: str = SYSTEM_PROMPT,
) -> Agent:
    """An Agent over `model` with the TRM tools (or `tools`); capabilities default to what
    the model declares (see agents.models)."""
    return Agent(
        model,
        trm_tools() if tools is None else tools,
        capabilities or capabilities_of(model),
        max_iterations=max_iterations,
        system_prompt=system_prompt,
    )
