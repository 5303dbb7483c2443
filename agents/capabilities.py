"""What a chat backend can be trusted with, declared by each chat model or asked of its
server; the routing middleware adapts its requests to it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field


class Capabilities(BaseModel):
    """What a backend can be trusted with; the agent adapts its requests to it."""

    model_config = ConfigDict(frozen=True)

    tool_choice: Literal["auto", "forced"] = Field(
        description="auto: the model decides when to call a tool; forced: the agent detects "
        "puzzles itself and forces the matching tool (for models or servers whose own choice "
        "is unreliable)"
    )
    structured_output: Literal["json_schema", "json_object"] = Field(
        description="how the server takes a JSON schema for constrained output"
    )
    tool_history: Literal["native", "text"] = Field(
        default="native",
        description="native: past tool calls go back as assistant tool_calls + tool messages; "
        "text: as plain assistant/user text, for chat templates that have no tool roles",
    )

    def response_format(self, schema: dict[str, Any], name: str = "answer") -> dict[str, Any]:
        """The `response_format` request field asking for JSON that follows `schema`."""
        if self.structured_output == "json_object":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}


VLLM = Capabilities(tool_choice="auto", structured_output="json_schema")
"""vLLM with `--enable-auto-tool-choice --tool-call-parser ...`, and hosted OpenAI-style APIs."""
LLAMA_CPP = Capabilities(tool_choice="forced", structured_output="json_object", tool_history="text")
"""llama-cpp-python's server: tool_choice="auto" does not produce tool calls, a named tool
choice is enforced by a grammar, and the assistant message of a tool call needs text."""
TRANSFORMERS = Capabilities(
    tool_choice="forced", structured_output="json_schema", tool_history="text"
)
"""HFChatModel: local models of any size and template; the agent forces the tool, the wrapper
prefills the call, and tool steps go back as text, which every chat template can show."""

DEFAULT_MAX_TOKENS = 512
"""Token limit of a request when the model has none of its own."""


def probe_capabilities(base_url: str | None, model: str | None) -> Capabilities | None:
    """What the served model can do, asked of the server: vLLM's /tokenize renders a chat
    with and without a tool; a chat template that shows no tools (SmolLM2's) leaves the
    model unable to choose one, so the agent must force it and send tool steps as text.
    None when the server has no such endpoint (llama.cpp, hosted APIs) or cannot be reached."""
    if not base_url:
        return None
    chat = {"model": model, "messages": [{"role": "user", "content": "Hi"}]}
    tool = {
        "type": "function",
        "function": {"name": "probe_tool", "description": "Probe.", "parameters": {}},
    }
    counts = [_token_count(base_url, {**chat, "tools": [tool]} if t else chat) for t in (0, 1)]
    if None in counts:
        return None
    if counts[0] == counts[1]:
        return Capabilities(
            tool_choice="forced", structured_output="json_schema", tool_history="text"
        )
    return VLLM


def _token_count(base_url: str, body: dict[str, Any]) -> int | None:
    root = base_url.rstrip("/").removesuffix("/v1")
    request = urllib.request.Request(
        f"{root}/tokenize",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response).get("count")
    except (urllib.error.URLError, OSError, ValueError):
        return None


def capabilities_of(model: BaseChatModel) -> Capabilities:
    """The capabilities a chat model declares; models from elsewhere count as capable."""
    declared = getattr(model, "capabilities", None)
    return declared if isinstance(declared, Capabilities) else VLLM
