"""What one tool call of a turn leaves behind, as one schema for the routing middleware
(`Routing`, kept on the ToolMessage), the agent's reply, the terminal chat, the evals' JSONL
lines and their report (`ToolCallRecord`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from trm_tool.solver import SolveResult


class Routing(BaseModel):
    """How one tool call's arguments were resolved."""

    args: dict[str, Any] = Field(description="arguments as the LLM sent them")
    args_used: dict[str, Any] = Field(description="arguments the tool ran with")
    referenced: bool = Field(default=False, description="the LLM passed PUZZLE_REFERENCE")
    snapped: bool = Field(default=False, description="the LLM's (mis)copy was replaced")
    reason: str | None = Field(default=None, description="why args_used differs from args")
    forced: bool = Field(default=False, description="routing forced this tool")


class ToolCallRecord(Routing):
    """One tool call of a turn: what the LLM sent, what ran (its Routing), and what came back.
    `result` is the SolveResult in memory; written out (the evals' JSONL) a record keeps
    its `verified` flag instead."""

    id: str = ""
    name: str
    content: str = Field(default="", description="the ToolMessage text the LLM read")
    error: str | None = None
    verified: bool | None = Field(
        default=None, description="the tool's verified flag; None without a result"
    )
    result: SolveResult | None = Field(default=None, exclude=True)
