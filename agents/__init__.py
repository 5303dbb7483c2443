"""The LLM side of trm-tool: chat models (embedded CPU default, OpenAI-compatible endpoints
such as vLLM, transformers in-process), a LangChain agent whose routing middleware hands
puzzles to the TRM tools, and a terminal chat (`python -m agents.chat`). See docs/agents.md."""

from .agent import AgentReply, ask, build_agent, reply_of
from .backends.llama_server import LocalLLMServer
from .backends.openai_compat import OpenAICompatibleChat
from .backends.transformers_local import HFChatModel
from .capabilities import LLAMA_CPP, TRANSFORMERS, VLLM, Capabilities, probe_capabilities
from .middleware import PuzzleRouting
from .models import make_chat_model
from .record import Routing, ToolCallRecord

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
