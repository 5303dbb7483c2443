"""Terminal chat with the puzzle agent.

    python -m agents.chat                                   # embedded SmolLM2, no downloads
    python -m agents.chat --backend openai --base-url http://127.0.0.1:8000/v1 --model NAME
    python -m agents.chat --backend hf --model /path/to/model-dir

Paste a puzzle (several lines at once are one message); /reset forgets the conversation,
/quit or Ctrl-D leaves. Tokens are shown as they arrive, then each tool call and its result.
"""

from __future__ import annotations

import argparse
import select
import sys
import uuid
from typing import Any, TextIO

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph

from .agent import AgentReply, build_agent, record_of, reply_of
from .models import BACKENDS, make_chat_model
from .record import ToolCallRecord

PASTE_WAIT_S = 0.05
"""A pasted block arrives at once: lines readable within this time join the message."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m agents.chat", description="Puzzle chat.")
    parser.add_argument("--backend", choices=BACKENDS, default="local")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (openai backend)")
    parser.add_argument("--model", help="model name (openai), GGUF file (local), directory (hf)")
    parser.add_argument("--api-key", help="API key (openai backend; default $OPENAI_API_KEY)")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--max-iterations", type=int, default=4)
    return parser.parse_args(argv)


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"max_tokens": args.max_tokens}
    if args.backend == "openai":
        if not args.base_url or not args.model:
            raise SystemExit("The openai backend needs --base-url and --model.")
        options |= {"base_url": args.base_url, "model": args.model}
        if args.api_key:
            options["api_key"] = args.api_key
    elif args.model:
        options["model"] = args.model
    elif args.backend == "hf":
        raise SystemExit("The hf backend needs --model (a model directory or a .gguf file).")
    return options


def read_message(stream: TextIO = sys.stdin) -> str | None:
    """One message: a line, plus any lines pasted with it. None at end of input."""
    line = stream.readline()
    if not line:
        return None
    lines = [line]
    while _more_waiting(stream):
        more = stream.readline()
        if not more:
            break
        lines.append(more)
    return "".join(lines).strip("\n")


def _more_waiting(stream: TextIO) -> bool:
    try:
        ready, _, _ = select.select([stream], [], [], PASTE_WAIT_S)
    except (OSError, ValueError):
        return False
    return bool(ready)


def describe_call(record: ToolCallRecord) -> str:
    notes = ["forced by routing"] if record.forced else []
    if record.referenced:
        notes.append(record.reason)
    elif record.snapped:
        notes.append(f"puzzle argument replaced: {record.reason}")
    return f"[tool] {record.name}" + (f" ({'; '.join(notes)})" if notes else "")


def describe_result(record: ToolCallRecord) -> str:
    if record.error:
        return f"[tool error] {record.error}"
    result = record.result
    if result is None:
        return f"[tool result] {record.content}"
    verified = {True: "yes", False: "NO", None: "n/a"}[result.verified]
    return f"[tool result] verified: {verified}, {result.latency_ms:.0f} ms"


def tool_messages(update: Any) -> list[ToolMessage]:
    """The ToolMessages in one `stream_mode="updates"` item ({node: state update})."""
    updates = update.values() if isinstance(update, dict) else []
    found = []
    for value in updates:
        for part in value if isinstance(value, list) else [value]:
            messages = part.get("messages", []) if isinstance(part, dict) else []
            found += [m for m in messages if isinstance(m, ToolMessage)]
    return found


def stream_turn(
    agent: CompiledStateGraph, text: str, config: RunnableConfig, out: TextIO = sys.stdout
) -> AgentReply:
    """Send one message; print the model's tokens as they arrive, each tool call when it has
    run, then whatever the final answer adds to the streamed text."""
    shown: list[str] = []
    stream = agent.stream(
        {"messages": [("user", text)]}, config, stream_mode=["messages", "updates"]
    )
    for mode, data in stream:
        if mode == "messages":
            chunk, meta = data
            if meta.get("langgraph_node") == "model" and chunk.text:
                shown.append(chunk.text)
                out.write(chunk.text)
        else:
            for message in tool_messages(data):
                record = record_of(message)
                out.write(f"\n{describe_call(record)}\n{describe_result(record)}\n")
        out.flush()
    reply = reply_of(agent.get_state(config).values)
    streamed = "".join(shown).rstrip()
    rest = reply.text[len(streamed) :] if reply.text.startswith(streamed) else reply.text
    if rest.strip():
        out.write(("\n" if streamed else "") + rest.strip("\n"))
    out.write("\n")
    out.flush()
    return reply


def new_thread() -> RunnableConfig:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def chat(agent: CompiledStateGraph, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """The conversation lives in the agent's checkpointer, one thread per /reset."""
    config = new_thread()
    while True:
        out.write("\nyou> ")
        out.flush()
        text = read_message(source)
        if text is None or text.strip() == "/quit":
            return
        if text.strip() == "/reset":
            config = new_thread()
            continue
        if not text.strip():
            continue
        out.write("assistant> ")
        stream_turn(agent, text, config, out)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    model = make_chat_model(args.backend, **model_options(args))
    print(f"trm-tool chat ({args.backend}). Paste a Sudoku, a maze or an ARC task; /quit to leave.")
    try:
        agent = build_agent(model, max_iterations=args.max_iterations, checkpointer=InMemorySaver())
        chat(agent)
    except KeyboardInterrupt:
        print()
    finally:
        close = getattr(model, "close", None)
        if close:
            close()


if __name__ == "__main__":
    main()
