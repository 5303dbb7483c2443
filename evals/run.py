"""LLM alone vs LLM routed to the TRM tool, with the TRM alone and the exact solver as bounds.

    python evals/run.py                                  # embedded SmolLM2 on CPU, small samples
    python evals/run.py --suite sudoku,maze --limit 50 --conditions llm,llm+trm
    python evals/run.py --llm openai --base-url http://HOST:8000/v1 --model M --device cuda
    python evals/run.py --file my_puzzles.jsonl          # your own puzzles (JSONL or CSV)
    python evals/run.py --resume --out runs/evals/DIR    # continue a run (errors are retried)

Conditions (the same items for each): `llm` the LLM alone, `llm+trm` the agent with the TRM
tools (its final answer is scored), `trm` the tool called directly, `solver` the exact
classical solver. Every (item, condition) is one line of results.jsonl in the run directory;
results.md, results.json, accuracy.png and examples.png are written from those lines.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from agents.agent import ask, build_agent
from agents.models import make_chat_model
from agents.record import ToolCallRecord
from agents.standins import brief
from evals.report import Record, Status, write_report
from trm_tool.data import HELD_OUT_SEED, held_out
from trm_tool.puzzles import KIND_NAMES, Grid, Puzzle, PuzzleError, PuzzleKind, get_kind, parse
from trm_tool.tool import SolverPool, trm_tools

DEFAULT_LIMIT = 1
DEFAULT_MAX_TOKENS = 1500
"""Cap on the tokens of one LLM answer (a 30x30 maze answer needs about 1000)."""
ANSWER_SLACK_TOKENS = 200
"""Room for words around the grid in an answer."""
CONTEXT_TOKENS = {"local": 8192, "openai": 32768}
"""Context window assumed per backend (SmolLM2: 8k; --context-tokens overrides)."""
PLAIN_OVERHEAD_TOKENS = 64
AGENT_OVERHEAD_TOKENS = 1024
"""Chat template, system prompt, tool schemas and the tool steps of the agent (their
solutions as stand-ins)."""
RUNS_DIR = Path("runs/evals")
RESULTS_FILE = "results.jsonl"

INSTRUCTIONS: dict[str, str] = {
    "sudoku": "Solve this Sudoku: fill every blank so that each row, each column and each "
    "box holds every digit once. Reply with the completed grid in the same format.",
    "maze": "Solve this maze: find the shortest path from S to G that does not cross a wall "
    "(#). Reply with the whole maze in the same format, each cell of the path marked o.",
    "arc": "Solve this ARC task: find the rule that turns each example input into its "
    "output and apply it to the test input. Reply with the test output grid as rows of digits.",
}
"""What the LLM is asked for each kind (the answer format its reader expects)."""
GENERIC_INSTRUCTION = "Solve this {kind} puzzle. Reply with the solution in the same format."


class PromptTooLong(Exception):
    """The prompt and the answer it needs do not fit the LLM's context window."""


class Item(BaseModel):
    """One puzzle of a suite with its reference solutions (empty when none is known)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    suite: str
    item_id: str
    puzzle: Puzzle
    solutions: list[Grid] = Field(default_factory=list)

    @property
    def kind(self) -> PuzzleKind:
        return get_kind(self.puzzle.kind)

    @property
    def attempts(self) -> int:
        """Answers scored per item: kinds without an exact check (ARC) get two attempts,
        the ARC-AGI protocol; the others one."""
        return 1 if self.kind.verify(self.puzzle, self.puzzle.grid) is not None else 2

    @property
    def question(self) -> str:
        """The question grid alone, as text (for the report's example panels)."""
        return self.kind.render(self.puzzle, self.puzzle.grid)

    @property
    def prompt(self) -> str:
        """What an LLM is sent: the instruction, then the whole puzzle."""
        name = self.puzzle.kind
        instruction = INSTRUCTIONS.get(name, GENERIC_INSTRUCTION.format(kind=name))
        return f"{instruction}\n\n{self.kind.question_text(self.puzzle)}"

    def answer_tokens(self, cap: int) -> int:
        """Output budget: the longest grid of the puzzle as text (an ASCII character is at
        most one token) plus slack for words, at most `cap`."""
        grids = [self.puzzle.grid, *(out for _, out in self.puzzle.examples)]
        longest = max(len(self.kind.render(self.puzzle, grid)) for grid in grids)
        return min(cap, longest + ANSWER_SLACK_TOKENS)


# ---------------------------------------------------------------------------------------------
# Suites: name -> loader(limit) -> items


SuiteLoader = Callable[[int], list[Item]]


def held_out_suite(kind: str, tier: str) -> SuiteLoader:
    """The first `limit` puzzles of the kind's fixed-seed held-out set of `tier`."""

    def load(limit: int) -> list[Item]:
        pairs = held_out(get_kind(kind), tier, limit)
        return [
            Item(suite=kind, item_id=f"{tier}-{i:04d}", puzzle=puzzle, solutions=[solution])
            for i, (puzzle, solution) in enumerate(pairs)
        ]

    return load


def arc_suite(name: str, corpus: str) -> SuiteLoader:
    """`limit` test inputs of an ARC-AGI evaluation set, the first of one fixed-seed shuffle
    (so a larger limit only adds items)."""

    def load(limit: int) -> list[Item]:
        pairs = get_kind("arc").evaluation_puzzles(corpus)
        ids = _arc_ids(puzzle.task_id for puzzle, _ in pairs)
        order = list(range(len(pairs)))
        random.Random(f"{HELD_OUT_SEED}/evals/{name}").shuffle(order)
        chosen = sorted(order[:limit])
        return [
            Item(suite=name, item_id=ids[i], puzzle=pairs[i][0], solutions=pairs[i][1])
            for i in chosen
        ]

    return load


def _arc_ids(task_ids: Iterator[str | None]) -> list[str]:
    """`task/k` for the k-th test input of each task."""
    seen: dict[str | None, int] = {}
    ids = []
    for task_id in task_ids:
        seen[task_id] = seen.get(task_id, -1) + 1
        ids.append(f"{task_id}/{seen[task_id]}")
    return ids


SUITES: dict[str, SuiteLoader] = {
    "sudoku": held_out_suite("sudoku", "hard"),
    "maze": held_out_suite("maze", "hard"),
    "arc": arc_suite("arc", "arc1"),
    "arc2": arc_suite("arc2", "arc2"),
}


def load_file(path: Path, limit: int) -> list[Item]:
    """A user's own puzzles: JSONL lines {"kind", "puzzle", "solution"?} (kind may be auto;
    solution as text or a grid), or a CSV in the source,question,answer,rating layout read
    by whichever kind's `read_csv` accepts it. PuzzleError names the offending line."""
    if path.suffix.lower() == ".csv":
        return _load_csv(path, limit)
    items: list[Item] = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if len(items) == limit:
                break
            if not line.strip():
                continue
            try:
                items.append(_jsonl_item(path, number, json.loads(line)))
            except (ValueError, TypeError, KeyError, AttributeError) as err:
                raise PuzzleError(f"{path} line {number}: {err}") from err
    return items


def _jsonl_item(path: Path, number: int, row: dict[str, Any]) -> Item:
    puzzle = parse(row.get("kind", "auto"), row["puzzle"])
    solution = row.get("solution")
    if isinstance(solution, str):
        solution = get_kind(puzzle.kind).read_answer(puzzle, solution)
    return Item(
        suite=path.stem,
        item_id=f"line-{number}",
        puzzle=puzzle,
        solutions=[solution] if solution else [],
    )


def csv_readers() -> dict[str, Callable[[Path], Iterator[tuple[Puzzle, Grid]]]]:
    """`read_csv` of every puzzle kind that has one, by kind name."""
    kinds = [get_kind(name) for name in KIND_NAMES]
    return {kind.name: kind.read_csv for kind in kinds if kind.read_csv is not None}


def _load_csv(path: Path, limit: int) -> list[Item]:
    reasons = []
    for name, read in csv_readers().items():
        try:
            pairs = list(itertools.islice(read(path), limit))
        except (PuzzleError, csv.Error) as err:
            reasons.append(f"{name}: {err}")
            continue
        return [
            Item(suite=path.stem, item_id=f"row-{i + 2}", puzzle=puzzle, solutions=[solution])
            for i, (puzzle, solution) in enumerate(pairs)
        ]
    raise PuzzleError(f"No puzzle kind reads {path}: " + " | ".join(reasons))


# ---------------------------------------------------------------------------------------------
# Conditions: (evaluator, item) -> outcome


class Settings(BaseModel):
    """How to reach the LLM and run the TRM."""

    llm: Literal["local", "openai"] = "local"
    base_url: str | None = None
    model: str | None = Field(default=None, description="openai: model name; local: a GGUF")
    api_key: str | None = None
    device: str = "auto"
    max_tokens: int = DEFAULT_MAX_TOKENS
    context_tokens: int | None = Field(default=None, description="default: by backend")

    @property
    def context(self) -> int:
        return self.context_tokens or CONTEXT_TOKENS[self.llm]


class Outcome(BaseModel):
    """What one condition produced for one item, before scoring."""

    status: Status = "ok"
    answer: str = ""
    grids: list[Grid] = Field(default_factory=list, description="candidate answers, best first")
    prompt: str | None = None
    error: str | None = None
    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)


class Evaluator:
    """Holds the LLM (started on first use) and the TRM solver pool; runs one item under one
    condition and scores it. Use as a context manager: leaving it stops a local LLM server."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pool = SolverPool(device=settings.device)
        self.tools = trm_tools(self.pool)
        self._chat: BaseChatModel | None = None

    @property
    def chat(self) -> BaseChatModel:
        if self._chat is None:
            self._chat = _make_chat(self.settings)
        return self._chat

    @property
    def llm_name(self) -> str:
        return getattr(self.chat, "model_name", None) or self.settings.llm

    def limited_chat(self, item: Item, prompt: str, overhead: int) -> BaseChatModel:
        """The chat model capped to the item's answer budget. PromptTooLong unless `prompt`
        (what the model reads, counted as one token per byte, an upper bound), one answer
        and `overhead` fit."""
        budget = item.answer_tokens(self.settings.max_tokens)
        prompt_tokens = len(prompt.encode("utf-8"))
        need = prompt_tokens + budget + overhead
        if need > self.settings.context:
            raise PromptTooLong(
                f"a prompt of up to {prompt_tokens} tokens + {budget} answer tokens + "
                f"{overhead} overhead exceed the {self.settings.context}-token context"
            )
        return self.chat.model_copy(update={"max_tokens": budget})

    def evaluate(self, item: Item, condition: str) -> Record:
        """Run and score one item under one condition; any failure becomes the record's
        error, never an exception."""
        start = time.perf_counter()
        try:
            outcome = CONDITIONS[condition](self, item)
        except PromptTooLong as err:
            outcome = Outcome(status="skipped", prompt=item.prompt, error=str(err))
        except Exception as err:  # one item's failure is recorded, the run goes on
            outcome = Outcome(status="error", error=f"{type(err).__name__}: {err}")
        return Record(
            suite=item.suite,
            item_id=item.item_id,
            kind=item.puzzle.kind,
            condition=condition,
            model=outcome.model,
            status=outcome.status,
            correct=score(item, outcome),
            question=item.question,
            prompt=outcome.prompt,
            answer=outcome.answer,
            answer_grid=outcome.grids[0] if outcome.grids else None,
            error=outcome.error,
            latency_ms=round((time.perf_counter() - start) * 1000, 1),
            tokens_in=outcome.tokens_in,
            tokens_out=outcome.tokens_out,
            tool_calls=outcome.tool_calls,
        )

    def close(self) -> None:
        close = getattr(self._chat, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _make_chat(settings: Settings) -> BaseChatModel:
    if settings.llm == "local":
        options = {"model": settings.model} if settings.model else {}
        server = {"n_ctx": settings.context}
        return make_chat_model("local", temperature=0.0, server_options=server, **options)
    return make_chat_model(
        "openai",
        base_url=settings.base_url,
        model=settings.model,
        api_key=settings.api_key or "none",
        temperature=0.0,
    )


def read_reply(item: Item, text: str, **fields: Any) -> Outcome:
    """An LLM's reply read with the kind's answer reader; no answer in it = parse failure."""
    try:
        grid = item.kind.read_answer(item.puzzle, text)
    except PuzzleError as err:
        return Outcome(status="parse_failure", answer=text, error=str(err), **fields)
    return Outcome(answer=text, grids=[grid], **fields)


def ask_llm(evaluator: Evaluator, item: Item) -> Outcome:
    """The LLM alone, asked for the solution."""
    chat = evaluator.limited_chat(item, item.prompt, overhead=PLAIN_OVERHEAD_TOKENS)
    response = chat.invoke([HumanMessage(item.prompt)])
    usage = response.usage_metadata or {}
    return read_reply(
        item,
        response.text,
        prompt=item.prompt,
        model=evaluator.llm_name,
        tokens_in=usage.get("input_tokens", 0),
        tokens_out=usage.get("output_tokens", 0),
    )


def ask_agent(evaluator: Evaluator, item: Item) -> Outcome:
    """The agent with the TRM tools; the final answer it gives is what is scored. Its LLM
    reads the puzzle as a stand-in (agents.standins), so any puzzle fits."""
    chat = evaluator.limited_chat(item, brief(item.prompt), overhead=AGENT_OVERHEAD_TOKENS)
    reply = ask(build_agent(chat, tools=evaluator.tools), item.prompt)
    return read_reply(
        item,
        reply.text,
        prompt=item.prompt,
        model=evaluator.llm_name,
        tokens_in=reply.tokens_in,
        tokens_out=reply.tokens_out,
        tool_calls=reply.tool_calls,
    )


def call_trm(evaluator: Evaluator, item: Item) -> Outcome:
    """The TRM tool called directly with the puzzle: the routing upper bound."""
    result = evaluator.pool.solve(item.puzzle.kind, item.kind.question_text(item.puzzle))
    card = evaluator.pool.get(item.puzzle.kind).card
    return Outcome(
        answer=result.solution_text,
        grids=result.attempts or [result.grid],
        model=f"trm:{card.kind}:{card.sha256[:12]}",
    )


def call_solver(evaluator: Evaluator, item: Item) -> Outcome:
    """The exact classical solver; n/a where the kind has none."""
    grid = item.kind.solve_exact(item.puzzle)
    if grid is None:
        return Outcome(status="n/a")
    return Outcome(answer=item.kind.render(item.puzzle, grid), grids=[grid], model="exact")


CONDITIONS: dict[str, Callable[[Evaluator, Item], Outcome]] = {
    "llm": ask_llm,
    "llm+trm": ask_agent,
    "trm": call_trm,
    "solver": call_solver,
}


def judge(item: Item, grid: Grid) -> bool | None:
    """Whether one answer grid is right: the kind's exact check where it has one, else equal
    to a reference solution; None when neither exists."""
    try:
        verdict = item.kind.verify(item.puzzle, grid)
    except PuzzleError:
        return False
    if verdict is not None:
        return verdict
    return grid in item.solutions if item.solutions else None


def score(item: Item, outcome: Outcome) -> bool | None:
    """Right if any of the item's allowed attempts is right; errors, skips and parse
    failures are wrong; None when the condition does not apply or nothing can judge."""
    if outcome.status == "n/a":
        return None
    if outcome.status != "ok":
        return False
    verdicts = [judge(item, grid) for grid in outcome.grids[: item.attempts]]
    if all(v is None for v in verdicts):
        return None
    return any(verdicts)


# ---------------------------------------------------------------------------------------------
# Running and resuming


def load_records(path: Path) -> list[Record]:
    """The records of a results.jsonl; a line cut short by a crash is ignored."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(Record.model_validate_json(line))
        except ValueError:
            continue
    return records


def pending(
    items: Sequence[Item], conditions: Sequence[str], records: Sequence[Record]
) -> list[tuple[Item, str]]:
    """(item, condition) pairs without a finished line; errored ones are run again."""
    done = {r.key for r in records if r.status != "error"}
    return [
        (item, condition)
        for item in items
        for condition in conditions
        if (item.suite, item.item_id, condition) not in done
    ]


def run(
    settings: Settings,
    items: Sequence[Item],
    conditions: Sequence[str],
    run_dir: Path,
    resume: bool = False,
) -> list[Record]:
    """Evaluate every item under every condition, appending one line per pair to
    results.jsonl as it finishes; returns the records of these items and conditions (a
    resumed directory may hold more)."""
    path = run_dir / RESULTS_FILE
    if path.exists() and path.stat().st_size and not resume:
        raise SystemExit(f"{path} already has results: pass --resume, or choose another --out.")
    run_dir.mkdir(parents=True, exist_ok=True)
    records = load_records(path) if resume else []
    todo = pending(items, conditions, records)
    with Evaluator(settings) as evaluator, open(path, "a", encoding="utf-8") as out:
        if out.tell() and not path.read_bytes().endswith(b"\n"):
            out.write("\n")
        bar = tqdm(todo, desc="evals", unit="run", dynamic_ncols=True)
        for item, condition in bar:
            bar.set_postfix_str(f"{item.suite} {item.item_id} {condition}")
            record = evaluator.evaluate(item, condition)
            out.write(record.model_dump_json() + "\n")
            out.flush()
            records.append(record)
    planned = {(item.suite, item.item_id, condition) for item in items for condition in conditions}
    return [r for r in records if r.key in planned]


def load_items(suites: Sequence[str], file: Path | None, limit: int) -> list[Item]:
    items = [item for suite in suites for item in SUITES[suite](limit)]
    return items + (load_file(file, limit) if file else [])


def _names(value: str, known: dict[str, Any], what: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(unknown) or '(none)'}; choose from {', '.join(known)}"
        )
    return names


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="LLM alone vs LLM + TRM tool (and TRM alone, exact solver) on grid puzzles."
    )
    parser.add_argument(
        "--suite",
        type=lambda v: _names(v, SUITES, "suite"),
        help=f"comma-separated, from {', '.join(SUITES)} (default: all, or none with --file)",
    )
    parser.add_argument("--file", type=Path, help="your own puzzles: JSONL or CSV")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="items per suite")
    parser.add_argument(
        "--conditions",
        type=lambda v: _names(v, CONDITIONS, "condition"),
        default=list(CONDITIONS),
        help=f"comma-separated, from {', '.join(CONDITIONS)} (default: all)",
    )
    parser.add_argument("--llm", choices=("local", "openai"), default="local")
    parser.add_argument("--base-url", help="openai: the server, e.g. http://HOST:8000/v1")
    parser.add_argument("--model", help="openai: the served model name; local: a GGUF file")
    parser.add_argument("--api-key", help="openai: the key (default: $OPENAI_API_KEY)")
    parser.add_argument("--device", default="auto", help="TRM device: auto, cpu or cuda")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS)
    parser.add_argument("--context-tokens", type=int, help="LLM context (default: by backend)")
    parser.add_argument("--out", type=Path, help=f"run directory (default: {RUNS_DIR}/<time>)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    args = parser.parse_args(argv)
    if args.llm == "openai" and not (args.base_url and args.model):
        parser.error("--llm openai needs --base-url and --model")
    if args.resume and args.out is None:
        parser.error("--resume needs --out (the run directory to continue)")
    if args.suite is None:
        args.suite = [] if args.file else list(SUITES)
    return args


def main(argv: Sequence[str] | None = None) -> str:
    """Run the evaluation the flags describe; print and return the markdown report."""
    args = parse_args(argv)
    started = time.perf_counter()
    settings = Settings(
        llm=args.llm,
        base_url=args.base_url,
        model=args.model,
        api_key=args.api_key,
        device=args.device,
        max_tokens=args.max_tokens,
        context_tokens=args.context_tokens,
    )
    run_dir = args.out or RUNS_DIR / datetime.now().strftime("%Y%m%d-%H%M%S")
    items = load_items(args.suite, args.file, args.limit)
    records = run(settings, items, args.conditions, run_dir, args.resume)
    suites = list(dict.fromkeys(item.suite for item in items))
    meta = {
        "command": " ".join(["python evals/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "llm": settings.llm,
        "model": args.model or "SmolLM2-135M-Instruct (embedded)",
        "device": settings.device,
        "items per suite": args.limit,
        "runtime (this invocation)": f"{time.perf_counter() - started:.0f} s",
        "finished": datetime.now().isoformat(timespec="seconds"),
    }
    markdown = write_report(run_dir, records, suites, args.conditions, meta)
    print(markdown)
    print(f"Run directory: {run_dir}")
    return markdown


if __name__ == "__main__":
    main()
