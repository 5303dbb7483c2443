"""The puzzle agent: `langchain.agents.create_agent` with the TRM tools and our routing
middleware (agents.middleware.PuzzleRouting), so it is a plain LangChain agent: `invoke`,
`stream` / `astream` with any stream mode, `ainvoke`, checkpointers, more middleware.

    agent = build_agent(make_chat_model("local"))
    state = agent.invoke({"messages": [("user", "solve this sudoku: ...")]})
    reply = ask(agent, "solve this maze: ...")   # AgentReply: the turn, summarised
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ModelCallLimitMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer
from pydantic import BaseModel, ConfigDict, Field

from trm_tool.solver import SolveResult
from trm_tool.tool import trm_tools

from .capabilities import DEFAULT_MAX_TOKENS, Capabilities, capabilities_of
from .middleware import APPENDED_KEY, PuzzleRouting, current_turn, routing_of
from .record import ToolCallRecord
from .routing import PUZZLE_REFERENCE

SYSTEM_PROMPT = (
    "You are a helpful assistant with exact puzzle solvers as tools. When the user gives a "
    "Sudoku, a maze or an ARC task, call the matching tool with the puzzle "
    f"{PUZZLE_REFERENCE!r} instead of copying it; do not solve it yourself. Give the tool's "
    "solution exactly as it returned it and say whether it was verified. Answer everything "
    "else normally and briefly."
)


def build_agent(
    model: BaseChatModel,
    tools: list[BaseTool] | None = None,
    capabilities: Capabilities | None = None,
    max_iterations: int = 4,
    system_prompt: str = SYSTEM_PROMPT,
    middleware: Sequence[AgentMiddleware] = (),
    checkpointer: Checkpointer = None,
) -> CompiledStateGraph:
    """A LangChain agent over `model` with the TRM tools (or `tools`): PuzzleRouting (the
    outermost middleware), then `middleware`. Runs end after `max_iterations` model calls
    (a ModelCallLimitMiddleware, unless `middleware` brings its own). Capabilities default
    to what the model declares (agents.capabilities)."""
    own = getattr(model, "max_tokens", None)
    routing = PuzzleRouting(
        capabilities or capabilities_of(model),
        max_tokens=own if isinstance(own, int) else DEFAULT_MAX_TOKENS,
    )
    stack: list[AgentMiddleware] = [routing, *middleware]
    if not any(isinstance(m, ModelCallLimitMiddleware) for m in middleware):
        stack.append(ModelCallLimitMiddleware(run_limit=max(1, max_iterations)))
    return create_agent(
        model,
        tools=trm_tools() if tools is None else tools,
        system_prompt=system_prompt,
        middleware=stack,
        checkpointer=checkpointer,
    )


class AgentReply(BaseModel):
    """One user turn read off the agent's state (for the CLI, the evals and benchmarks)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    text: str = Field(description="the final answer shown to the user")
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    iterations: int = Field(default=0, description="model calls that reported usage")
    appended_solution: bool = Field(
        default=False, description="the tools' solutions were appended to the LLM's text"
    )
    messages: list[AnyMessage] = Field(default_factory=list, description="the whole thread")


def record_of(message: ToolMessage) -> ToolCallRecord:
    """A ToolMessage as a ToolCallRecord (with its routing, when PuzzleRouting ran it)."""
    routing = routing_of(message)
    fields = routing.model_dump() if routing else {"args": {}, "args_used": {}}
    result = message.artifact if isinstance(message.artifact, SolveResult) else None
    return ToolCallRecord(
        id=message.tool_call_id,
        name=message.name or "",
        content=message.text,
        result=result,
        error=message.text if message.status == "error" else None,
        verified=result.verified if result is not None else None,
        **fields,
    )


def reply_of(state: dict[str, Any], latency_ms: float = 0.0) -> AgentReply:
    """The latest turn of an agent state (what `invoke` returns)."""
    messages = state["messages"]
    _, turn = current_turn(messages)
    answers = [m for m in turn if isinstance(m, AIMessage)]
    usage = [m.usage_metadata for m in answers if m.usage_metadata]
    final = answers[-1] if answers and not answers[-1].tool_calls else None
    return AgentReply(
        text=final.text if final else "",
        tool_calls=[record_of(m) for m in turn if isinstance(m, ToolMessage)],
        tokens_in=sum(u.get("input_tokens", 0) for u in usage),
        tokens_out=sum(u.get("output_tokens", 0) for u in usage),
        latency_ms=latency_ms,
        iterations=len(usage),
        appended_solution=bool(final and final.response_metadata.get(APPENDED_KEY)),
        messages=messages,
    )


def ask(agent: CompiledStateGraph, text: str, config: RunnableConfig | None = None) -> AgentReply:
    """Send one user message (to the thread in `config`, if the agent has a checkpointer)
    and summarise the turn."""
    start = time.perf_counter()
    state = agent.invoke({"messages": [("user", text)]}, config)
    return reply_of(state, round((time.perf_counter() - start) * 1000, 1))
