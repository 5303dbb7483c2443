"""The LLM side of trm-tool: chat models (embedded CPU default, OpenAI-compatible endpoints
such as vLLM, transformers in-process), a LangChain agent whose routing middleware hands
puzzles to the TRM tools, and a terminal chat (`python -m agents.chat`). See docs/agents.md."""

from .agent import AgentReply, ToolCallRecord, ask, build_agent, reply_of
from .middleware import PuzzleRouting, Routing
from .models import (
    LLAMA_CPP,
    TRANSFORMERS,
    VLLM,
    Capabilities,
    HFChatModel,
    LocalLLMServer,
    OpenAICompatibleChat,
    make_chat_model,
    probe_capabilities,
)

__all__ = [
    "LLAMA_CPP",
    "TRANSFORMERS",
    "VLLM",
    "AgentReply",
    "Capabilities",
    "HFChatModel",
    "LocalLLMServer",
    "OpenAICompatibleChat",
    "PuzzleRouting",
    "Routing",
    "ToolCallRecord",
    "ask",
    "build_agent",
    "make_chat_model",
    "probe_capabilities",
    "reply_of",
]
