"""The LLM side of trm-tool: chat models (embedded CPU default, OpenAI-compatible endpoints
such as vLLM, transformers in-process), an agent that routes puzzles to the TRM tools, and a
terminal chat (`python -m agents.chat`). See docs/agents.md."""

from .agent import Agent, AgentEvent, AgentReply, ToolCallRecord, build_agent
from .models import (
    LLAMA_CPP,
    TRANSFORMERS,
    VLLM,
    Capabilities,
    HFChatModel,
    LocalLLMServer,
    OpenAICompatibleChat,
    make_chat_model,
)

__all__ = [
    "LLAMA_CPP",
    "TRANSFORMERS",
    "VLLM",
    "Agent",
    "AgentEvent",
    "AgentReply",
    "Capabilities",
    "HFChatModel",
    "LocalLLMServer",
    "OpenAICompatibleChat",
    "ToolCallRecord",
    "build_agent",
    "make_chat_model",
]
