"""Any OpenAI-compatible endpoint (vLLM, a hosted API, the embedded llama.cpp server) as a
LangChain chat model that carries the backend's capabilities."""

from __future__ import annotations

from typing import Any

from langchain_openai import ChatOpenAI
from pydantic import Field, PrivateAttr

from ..capabilities import VLLM, Capabilities
from .child_server import ChildServer

LLM_CALL_TIMEOUT_S = 120.0
"""The default limit of one LLM call, retried once: well past a long answer from a slow CPU
server, well within a chat turn's limit (`ChatService.timeout_s`, 300 s)."""


class OpenAICompatibleChat(ChatOpenAI):
    """ChatOpenAI plus the backend's capabilities and, for the local backend, the server it
    owns: `close()` or leaving a `with` block stops that server."""

    capabilities: Capabilities = VLLM
    request_timeout: float | None = Field(default=LLM_CALL_TIMEOUT_S, alias="timeout")
    """Seconds one call may take: a server that never answers ends the call (and frees the
    chat slot that waits on it) instead of holding it for the client's default 10 minutes."""
    max_retries: int | None = 1
    legacy_max_tokens: bool = False
    """Send the token limit as `max_tokens`: llama-cpp-python's server ignores the newer
    `max_completion_tokens` and would generate until the context is full."""
    _server: ChildServer | None = PrivateAttr(default=None)

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any):
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if self.legacy_max_tokens and "max_completion_tokens" in payload:
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        return payload

    @property
    def server(self) -> ChildServer | None:
        """The server this model started and stops, else None."""
        return self._server

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    def __enter__(self) -> OpenAICompatibleChat:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
