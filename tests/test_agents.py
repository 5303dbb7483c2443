"""The agent with real components: SmolLM2 through the real llama.cpp server, the real TRM
tools, and scripted chat models only where the test is about our own loop."""

import importlib.util
import random

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agents import LLAMA_CPP, VLLM, LocalLLMServer, build_agent, make_chat_model
from agents.agent import ANSWER_MARGIN_TOKENS, REFERENCE_CALL_TOKENS
from agents.models import smollm2_path
from agents.routing import (
    PUZZLE_REFERENCE,
    differing_fraction,
    find_puzzle,
    offer_reference,
    reference_schema,
    resolve_arguments,
)
from trm_tool.puzzles import arc as arc_kind
from trm_tool.puzzles.sudoku import KIND as SUDOKU
from trm_tool.puzzles.sudoku import pretty, to_line
from trm_tool.tool import SolverPool, openai_tool_schemas, trm_tools

ANSWER_TOKENS = 96
"""Enough for SmolLM2's final answer; the tests check what the agent guarantees, not prose."""


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


def sudoku_line(seed: int) -> str:
    return to_line(SUDOKU.generate(random.Random(seed), "singles")[0].grid)


class ScriptedChatModel(BaseChatModel):
    """Replies with the scripted messages in turn (one per earlier AI message in the input);
    past the script it repeats the latest tool result, as a model quoting it would. Keeps the
    options of every request (tools, tool_choice, max_tokens) in `requests`."""

    script: list[AIMessage]
    requests: list[dict] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, **kwargs):
        return self.bind(tools=tools, **kwargs)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.requests.append(kwargs)
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


# ---------------------------------------------------------------------------------------------
# The embedded model (SmolLM2 via llama.cpp's server)


def forced_call_tokens(reply) -> int:
    """Output tokens of the model call that made the turn's (first) tool call."""
    message = next(m for m in reply.messages if isinstance(m, AIMessage) and m.tool_calls)
    return message.usage_metadata["output_tokens"]


def test_embedded_model_answers_a_sudoku_with_the_verified_solution(server, pool, solvable):
    agent = build_agent(server.chat_model(max_tokens=ANSWER_TOKENS), tools=trm_tools(pool))
    text = f"solve this sudoku: {solvable}"
    reply = agent.run(text)
    assert [c.name for c in reply.tool_calls] == ["solve_sudoku"]
    record = reply.tool_calls[0]
    assert record.forced and record.result is not None and record.result.verified
    assert record.args == {"puzzle": PUZZLE_REFERENCE}, "the forced call refers, never copies"
    assert record.referenced and not record.snapped and record.args_used == {"puzzle": text}
    assert forced_call_tokens(reply) <= REFERENCE_CALL_TOKENS
    assert record.result.solution_text in reply.text
    assert "verified: yes" in reply.text
    assert reply.iterations == 2 and reply.tokens_in > 0 and reply.tokens_out > 0


def test_embedded_model_answer_always_carries_the_tool_solution(server, pool):
    """Whatever the TRM or the LLM make of it, the user sees the tool's solution verbatim."""
    agent = build_agent(server.chat_model(max_tokens=ANSWER_TOKENS), tools=trm_tools(pool))
    reply = agent.run(
        "Please solve this Sudoku:\n" + pretty(SUDOKU.generate(random.Random(5), "easy")[0].grid)
    )
    record = reply.tool_calls[0]
    assert record.name == "solve_sudoku" and record.result is not None
    assert record.result.solution_text in reply.text
    status = next(line for line in record.content.splitlines() if line.startswith("verified:"))
    assert status in reply.text or record.content in reply.text


def test_chit_chat_gets_no_tool_call_and_streams_tokens():
    with make_chat_model("local", max_tokens=48) as model:
        events = list(build_agent(model).stream("Hi! How are you today?"))
        assert model.server.running
    assert not model.server.running
    tokens = [e.data for e in events if e.type == "token"]
    reply = events[-1].data
    assert events[-1].type == "final" and not reply.tool_calls
    assert tokens and reply.text == "".join(tokens).rstrip()


def test_openai_backend_against_a_real_server(server, pool):
    """The `openai` code path, pointed at an OpenAI-compatible server on 127.0.0.1."""
    model = make_chat_model(
        "openai",
        base_url=server.base_url,
        model=server.model_name,
        capabilities=LLAMA_CPP,
        legacy_max_tokens=True,
        max_tokens=ANSWER_TOKENS,
        extra_body={"repeat_penalty": 1.0},
    )
    maze = "Find the shortest path from S to G:\n#####\n#S..#\n##.##\n#..G#\n#####"
    reply = build_agent(model, tools=trm_tools(pool)).run(maze)
    assert [c.name for c in reply.tool_calls] == ["solve_maze"]
    record = reply.tool_calls[0]
    assert record.referenced and record.args_used == {"puzzle": maze} and record.content
    assert reply.text.strip() and reply.iterations == 2


def test_embedded_model_refers_to_an_arc_task_through_the_general_tool(server, pool):
    """The general tool's forced call: kind and puzzle both fixed by the grammar; the tool
    runs on the user's exact text however long it is."""
    task = arc_kind.task_text(next(iter(arc_kind.KIND.evaluation_puzzles("arc1")))[0])
    text = f"Solve this ARC task:\n{task}"
    general = [t for t in trm_tools(pool) if t.name == "solve_grid_puzzle"]
    reply = build_agent(server.chat_model(max_tokens=ANSWER_TOKENS), tools=general).run(text)
    record = reply.tool_calls[0]
    assert record.forced and record.args == {"kind": "arc", "puzzle": PUZZLE_REFERENCE}
    assert record.referenced and record.args_used == {"kind": "arc", "puzzle": text}
    assert forced_call_tokens(reply) <= REFERENCE_CALL_TOKENS
    assert record.error is None and record.result is not None


# ---------------------------------------------------------------------------------------------
# Copy-safe arguments (our own loop, scripted model)


def test_corrupted_copy_is_snapped_to_the_original(pool):
    line = sudoku_line(1)
    corrupted = "".join("." if i in (3, 40, 77) and ch != "." else ch for i, ch in enumerate(line))
    assert corrupted != line
    model = ScriptedChatModel(script=[call(corrupted), AIMessage(content="Here you go.")])
    reply = build_agent(model, tools=trm_tools(pool), capabilities=VLLM).run(
        f"Solve this sudoku: {line}"
    )
    record = reply.tool_calls[0]
    assert record.snapped and not record.referenced and not record.forced
    assert record.args == {"puzzle": corrupted}
    assert record.args_used["puzzle"] == f"Solve this sudoku: {line}"
    assert record.result is not None and record.result.solution_text in reply.text
    assert reply.appended_solution and "verified:" in reply.text


def test_unrelated_grid_is_not_snapped(pool):
    other = sudoku_line(2)
    model = ScriptedChatModel(script=[call(other)])
    reply = build_agent(model, tools=trm_tools(pool), capabilities=VLLM).run(
        f"Solve this sudoku: {sudoku_line(1)}"
    )
    record = reply.tool_calls[0]
    assert not record.snapped and record.args_used == {"puzzle": other}


def test_a_reference_to_the_puzzle_uses_the_conversations_puzzle(pool):
    line = sudoku_line(3)
    model = ScriptedChatModel(script=[call(PUZZLE_REFERENCE, name="solve_grid_puzzle")])
    reply = build_agent(model, tools=trm_tools(pool), capabilities=VLLM).run(
        f"Can you solve it?\n{line}"
    )
    record = reply.tool_calls[0]
    assert record.referenced and not record.snapped
    assert record.args_used == {"kind": "sudoku", "puzzle": f"Can you solve it?\n{line}"}
    assert "referred to the user's sudoku puzzle" in record.reason
    assert record.error is None and record.result is not None


def test_capable_backends_get_the_full_schema_with_the_reference_offered(pool):
    """Non-forced calls may still copy (and be snapped); the description offers the reference."""
    model = ScriptedChatModel(script=[AIMessage(content="Hello!")])
    build_agent(model, tools=trm_tools(pool), capabilities=VLLM).run("Hi")
    request = model.requests[0]
    assert request["tool_choice"] == "auto" and "max_tokens" not in request
    puzzle = request["tools"][0]["function"]["parameters"]["properties"]["puzzle"]
    assert puzzle["type"] == "string" and "enum" not in puzzle
    assert repr(PUZZLE_REFERENCE) in puzzle["description"]


def test_forced_call_and_answer_token_limits(pool, solvable):
    """Our loop: the forced call gets the reference-only schema and a few tokens; the answer
    after a solved call gets the tool's text plus a margin."""
    model = ScriptedChatModel(script=[call(PUZZLE_REFERENCE)])
    reply = build_agent(model, tools=trm_tools(pool), capabilities=LLAMA_CPP).run(
        f"solve this sudoku: {solvable}"
    )
    forced, answer = model.requests
    assert forced["tool_choice"] == "solve_sudoku"
    assert forced["max_tokens"] == REFERENCE_CALL_TOKENS
    [schema] = forced["tools"]
    puzzle = schema["function"]["parameters"]["properties"]["puzzle"]
    assert puzzle["enum"] == [PUZZLE_REFERENCE] and "maxLength" not in puzzle
    record = reply.tool_calls[0]
    assert record.referenced and record.result is not None
    assert answer["max_tokens"] == len(record.content) + ANSWER_MARGIN_TOKENS


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


def test_reference_schemas_compile_to_llama_cpp_grammars():
    """The forced schemas become grammars (what llama.cpp's server builds for a named tool
    choice) that admit the reference and nothing else."""
    import json

    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    for schema in openai_tool_schemas():
        parameters = reference_schema(schema, "maze")["function"]["parameters"]
        grammar = json_schema_to_gbnf(json.dumps(parameters))
        assert 'puzzle ::= "\\"the puzzle above\\""' in grammar
        if schema["function"]["name"] == "solve_grid_puzzle":
            assert 'kind ::= "\\"maze\\""' in grammar
        LlamaGrammar.from_string(grammar, verbose=False)
        offered = offer_reference(schema)["function"]["parameters"]["properties"]["puzzle"]
        assert offered["maxLength"] and PUZZLE_REFERENCE in offered["description"]


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
    reply = build_agent(model, tools=trm_tools(pool)).run(f"solve this sudoku: {sudoku_line(4)}")
    record = reply.tool_calls[0]
    assert record.name == "solve_sudoku" and record.forced and record.result is not None
    assert record.args == {"puzzle": PUZZLE_REFERENCE} and record.referenced
    assert record.result.solution_text in reply.text


def test_a_solution_inside_a_larger_garbled_grid_does_not_count_as_delivered():
    from agents.agent import contains_block

    solution = "000\n000"
    assert contains_block("The answer is:\n000\n000\nverified: n/a", solution)
    assert not contains_block("The answer is:\n000\n000\n000\n00", solution)  # a longer grid
    assert not contains_block("no grid here", solution)
    maze = " ##S#\n  #G "
    assert contains_block("The path:\n ##S#\n  #G\nverified: no", maze)
    assert not contains_block("The path:\n##S#\n  #G\nverified: no", maze)  # a row shifted left
