"""Benchmark the agent on fixed puzzle prompts (a script, not a test).

    .venv/bin/python tests/bench_agents.py                     # embedded SmolLM2, forced routing
    .venv/bin/python tests/bench_agents.py --mode auto         # the model chooses tools itself
    .venv/bin/python tests/bench_agents.py --backend openai --base-url URL --model NAME

Per puzzle kind (rates are shares of the prompts): how often the right tool was called, how
its puzzle argument came (forced, referring to the user's puzzle, or a copy: intact = the same
grid as the user's, snapped = replaced by copy-safe snapping), how often the tool ran on the
user's puzzle, how often the tool's solution reached the user's answer and that answer was the
right solution (verified, or the reference grid where nothing verifies: a maze can have
several shortest routes), latency p50/p90 (and how much of it was the LLM and the TRM tool), and the
LLM's tokens and speed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel, Field

from agents import AgentReply, ask, build_agent, make_chat_model
from agents.models import capabilities_of
from trm_tool.puzzles import Puzzle, PuzzleError, parse
from trm_tool.puzzles import arc as arc_kind
from trm_tool.puzzles import maze as maze_kind
from trm_tool.puzzles import sudoku as sudoku_kind
from trm_tool.tool import SolverPool, trm_tools

SUDOKU_ASKS = [
    "solve this sudoku: {grid}",
    "Can you solve this Sudoku for me?\n{grid}",
    "Please fill in the missing digits:\n{grid}",
    "{grid}\nsolve",
    "I'm stuck on this puzzle, what's the solution?\n\n{grid}\n\nThanks!",
    "Sudoku (dots are blanks):\n```\n{grid}\n```",
    "Here is today's sudoku from the newspaper. Solve it please.\n{grid}",
    "Complete this 9x9 grid so every row, column and box has 1-9:\n{grid}",
    "What is the answer to this sudoku? {grid}",
    "Help! {grid}",
    "My kid brought this home from school, no idea how to finish it:\n{grid}",
    "sudoku pls\n{grid}",
    "Fill the blanks (0 = empty):\n{grid}\nShow the full grid.",
    "Give me the unique solution of\n{grid}",
    "Is this solvable? If so, solve it.\n{grid}",
    "Solve the following puzzle and print the completed grid only.\n\n{grid}",
    "Could you work out this number puzzle?\n{grid}",
]
MAZE_ASKS = [
    "Find the shortest path from S to G in this maze:\n{grid}",
    "Solve this maze:\n{grid}",
    "How do I get from S to G?\n```\n{grid}\n```",
    "{grid}\nWhat's the shortest route from start to goal?",
    "Here is a maze (walls are #). Show me the path.\n{grid}",
    "Route me through this labyrinth, marking the path:\n{grid}",
    "maze:\n{grid}\nplease solve",
    "Draw the shortest way out from S to G:\n\n{grid}",
    "I need the quickest path between the start and the goal here.\n{grid}",
    "Can you navigate this grid from S to G without crossing walls?\n{grid}",
    "Please mark the shortest S-to-G route in this map:\n```\n{grid}\n```",
]
ARC_ASKS = [
    "Here is an ARC puzzle. Work out the rule and give the test output.\n\n{grid}",
    "Solve this ARC-AGI task:\n{grid}",
    "{grid}\n\nWhat is the output for the test input?",
    "Figure out the transformation from the examples and apply it:\n{grid}",
    "ARC task below. Predict the output grid.\n```\n{grid}\n```",
    "These input/output pairs follow one rule. What does the test input become?\n{grid}",
    "Abstract reasoning puzzle:\n{grid}\nAnswer with the output grid.",
]
ARC_STYLES = [{"format": "digits"}, {"format": "digits", "sep": " "}, {"format": "json"}]


class Case(BaseModel):
    kind: str
    prompt: str
    grid: list[list[int]]
    answer: list[list[int]]


def sudoku_texts(puzzle: Puzzle) -> list[str]:
    """The same Sudoku in the formats people paste."""
    grid = puzzle.grid
    rows = ["".join(str(d) for d in row) for row in grid]
    return [
        sudoku_kind.to_line(grid),
        sudoku_kind.to_line(grid).replace(".", "0"),
        sudoku_kind.pretty(grid),
        "\n".join(row.replace("0", ".") for row in rows),
        json.dumps(grid),
        ", ".join(str(d) for row in grid for d in row),
        "\n".join(" ".join(row.replace("0", "_")) for row in rows),
    ]


def maze_texts(puzzle: Puzzle) -> list[str]:
    """The same maze in different glyphs, spaced or not, and as JSON."""
    styles = [
        {"wall": "#", "open": " "},
        {"wall": "#", "open": "."},
        {"wall": "#", "open": ".", "spaced": True},
        {"wall": "X", "open": "."},
    ]
    texts = [
        maze_kind.render(replace(puzzle, style={"format": "text", **style}), puzzle.grid)
        for style in styles
    ]
    grid = [[1 if code == maze_kind.WALL else 0 for code in row] for row in puzzle.grid]
    ends = {
        key: next(
            [r, c] for r, row in enumerate(puzzle.grid) for c, v in enumerate(row) if v == code
        )
        for key, code in (("start", maze_kind.START), ("goal", maze_kind.GOAL))
    }
    return texts + [json.dumps({"grid": grid, **ends})]


def arc_texts(puzzle: Puzzle) -> list[str]:
    return [arc_kind.task_text(puzzle, style) for style in ARC_STYLES]


def cases(kinds: list[str], n_per_kind: int, seed: int, maze_tier: str = "small") -> list[Case]:
    """Fixed prompts per kind: asks x formats x puzzles, cycled. Sudoku and mazes (of
    `maze_tier`) from the generators; ARC from the ARC-AGI-1 evaluation tasks, any size (the
    LLM reads a stand-in for the puzzle)."""
    arc_pairs = [(p, answers[0]) for p, answers in arc_kind.KIND.evaluation_puzzles("arc1")]
    sources = {
        "sudoku": (SUDOKU_ASKS, sudoku_texts, lambda r: sudoku_kind.KIND.generate(r, "singles")),
        "maze": (MAZE_ASKS, maze_texts, lambda r: maze_kind.KIND.generate(r, maze_tier)),
        "arc": (ARC_ASKS, arc_texts, lambda r: r.choice(arc_pairs)),
    }
    out = []
    for kind in kinds:
        asks, texts_of, draw = sources[kind]
        rng = random.Random(f"{seed}/{kind}")
        for i in range(n_per_kind):
            puzzle, answer = draw(rng)
            texts = texts_of(puzzle)
            prompt = asks[i % len(asks)].format(grid=texts[i % len(texts)])
            out.append(Case(kind=kind, prompt=prompt, grid=puzzle.grid, answer=answer))
    return out


def same_grid(text: object, kind: str, grid: list[list[int]]) -> bool:
    try:
        return isinstance(text, str) and parse(kind, text).grid == grid
    except PuzzleError:
        return False


class Row(BaseModel):
    kind: str
    tool_called: bool
    forced: bool
    referenced: bool = Field(description="the call referred to the user's puzzle")
    copied: bool = Field(description="the call carried a puzzle text of its own")
    intact_before: bool = Field(description="that copy had the user's grid")
    snapped: bool
    intact_after: bool = Field(description="the tool ran on the user's grid")
    delivered: bool
    correct: bool
    latency_ms: float
    tool_ms: float = Field(description="TRM tool time (SolveResult.latency_ms), summed")
    tokens_in: int
    tokens_out: int
    iterations: int


def score(case: Case, reply: AgentReply) -> Row:
    calls = [c for c in reply.tool_calls if c.name in (f"solve_{case.kind}", "solve_grid_puzzle")]
    first = calls[0] if calls else None
    result = first.result if first else None
    copied = bool(first) and not first.referenced
    right = result is not None and (result.verified or result.grid == case.answer)
    return Row(
        kind=case.kind,
        tool_called=first is not None,
        forced=bool(first) and first.forced,
        referenced=bool(first) and first.referenced,
        copied=copied,
        intact_before=copied and same_grid(first.args.get("puzzle"), case.kind, case.grid),
        snapped=bool(first) and first.snapped,
        intact_after=bool(first) and same_grid(first.args_used.get("puzzle"), case.kind, case.grid),
        delivered=bool(result and result.solution_text in reply.text),
        correct=bool(result and right and result.solution_text in reply.text),
        latency_ms=reply.latency_ms,
        tool_ms=sum(c.result.latency_ms for c in reply.tool_calls if c.result is not None),
        tokens_in=reply.tokens_in,
        tokens_out=reply.tokens_out,
        iterations=reply.iterations,
    )


def generation_speed(model, runs: int = 3, tokens: int = 128) -> float:
    """Plain generation speed in tokens/s (no tools), best of a few runs."""
    speeds = []
    for _ in range(runs):
        start = time.perf_counter()
        message = model.bind(max_tokens=tokens).invoke("Write a short story about a robot.")
        elapsed = time.perf_counter() - start
        speeds.append((message.usage_metadata or {}).get("output_tokens", 0) / elapsed)
    return max(speeds)


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, -(-q * len(ordered) // 100) - 1)]


def summary(rows: list[Row]) -> dict:
    def rate(field: str) -> float:
        return round(sum(getattr(r, field) for r in rows) / len(rows), 3)

    latencies = [r.latency_ms for r in rows]
    llm_ms = sum(r.latency_ms - r.tool_ms for r in rows)
    return {
        "n": len(rows),
        "tool_call_rate": rate("tool_called"),
        "forced": rate("forced"),
        "referenced": rate("referenced"),
        "copied": rate("copied"),
        "copied_intact": rate("intact_before"),
        "snapped": rate("snapped"),
        "ran_on_user_puzzle": rate("intact_after"),
        "tool_solution_in_answer": rate("delivered"),
        "end_to_end_correct": rate("correct"),
        "latency_ms_p50": round(percentile(latencies, 50), 1),
        "latency_ms_p90": round(percentile(latencies, 90), 1),
        "llm_ms_mean": round(llm_ms / len(rows), 1),
        "tool_ms_mean": round(statistics.mean(r.tool_ms for r in rows), 1),
        "tokens_in_mean": round(statistics.mean(r.tokens_in for r in rows), 1),
        "tokens_out_mean": round(statistics.mean(r.tokens_out for r in rows), 1),
        "llm_tokens_out_per_s": round(sum(r.tokens_out for r in rows) / (llm_ms / 1000), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="local", choices=["local", "openai", "hf"])
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    parser.add_argument("--mode", choices=["routed", "auto"], default="routed")
    parser.add_argument("--n", type=int, default=50, help="prompts per puzzle kind")
    parser.add_argument("--kinds", default="sudoku,maze,arc")
    parser.add_argument("--maze-tier", default="small", help="small .. hard (30x30)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    options = {"max_tokens": args.max_tokens}
    if args.backend == "openai":
        options |= {"base_url": args.base_url, "model": args.model}
    elif args.model:
        options["model"] = args.model
    model = make_chat_model(args.backend, **options)
    capabilities = capabilities_of(model)
    if args.mode == "auto":
        capabilities = capabilities.model_copy(update={"tool_choice": "auto"})
    agent = build_agent(model, tools=trm_tools(SolverPool()), capabilities=capabilities)

    rows = []
    for i, case in enumerate(cases(args.kinds.split(","), args.n, args.seed, args.maze_tier)):
        row = score(case, ask(agent, case.prompt))
        rows.append(row)
        print(f"{i + 1:3d} {case.kind:6s} {row.model_dump_json()}", flush=True)
    report = {
        "backend": args.backend,
        "mode": args.mode,
        "by_kind": {
            kind: summary([r for r in rows if r.kind == kind])
            for kind in ("sudoku", "maze", "arc")
            if any(r.kind == kind for r in rows)
        },
        "generation_tokens_per_s": round(generation_speed(model), 1),
    }
    if hasattr(model, "close"):
        model.close()
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(
            json.dumps({**report, "rows": [r.model_dump() for r in rows]}, indent=2)
        )


if __name__ == "__main__":
    main()
