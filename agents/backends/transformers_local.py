"""A transformers causal LM loaded in this process as a LangChain chat model, for weights
kept on disk and GPUs without vLLM."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr

from ..capabilities import TRANSFORMERS, Capabilities

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
