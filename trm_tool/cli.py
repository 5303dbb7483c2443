"""The `trm-tool` command: solve, train, bench, serve, mcp, import-official."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoint import CheckpointError
from .puzzles import KIND_NAMES, PuzzleError, get_kind
from .solver import MAX_SECONDS, RETRY_VIEWS

if TYPE_CHECKING:
    from .tool import SolverPool


RETRY_HELP = "fresh views per retry round while no view verifies (0: no retries)"
DEVICE_HELP = "auto (CUDA when present, else CPU), cpu, cuda or cuda:N"
VIEWS_HELP = "test-time augmentation views voted over"


def budget_help() -> str:
    """The --max-seconds help, with each kind's default budget."""
    defaults = ", ".join(
        f"{name} {get_kind(name).default_max_seconds or MAX_SECONDS:g} s" for name in KIND_NAMES
    )
    return f"time budget per puzzle in seconds (default: the kind's: {defaults}; 0: none)"


def puzzle_text(argument: str) -> str:
    """The puzzle argument of `solve`: - reads stdin, an existing file is read, anything else
    is the puzzle itself."""
    if argument == "-":
        return sys.stdin.read()
    try:
        is_file = Path(argument).is_file()
    except (OSError, ValueError):  # a long or odd puzzle text is no file name
        is_file = False
    return Path(argument).read_text(errors="replace") if is_file else argument


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def print_progress(progress) -> None:
    """A test-time fit's progress (ARC), on stderr so stdout stays the answer."""
    print(
        f"[fit] {progress.summary()}",
        file=sys.stderr,
        flush=True,
    )


def cmd_solve(args: argparse.Namespace) -> int:
    from .solver import load_solver
    from .tool import fit_line

    text = puzzle_text(args.puzzle)
    kind = args.kind
    if kind == "auto":
        from .puzzles import parse

        kind = parse("auto", text).kind
    solver = load_solver(
        kind,
        args.checkpoint,
        args.device,
        args.views,
        args.max_steps,
        args.retry_views,
        args.max_seconds,
    )
    result = solver.solve(text, progress=print_progress)
    if args.json:
        print(result.model_dump_json())  # one line: easy to pipe, grep or read back
        return 0
    print(result.solution_text)
    status = {True: "verified", False: "NOT verified", None: "no exact check for this kind"}
    print(
        f"\n[{status[result.verified]}; confidence {result.confidence:.2f}; "
        f"{plural(result.steps, 'step')}; {plural(result.views, 'view')}; "
        f"{result.latency_ms:.0f} ms]"
    )
    if result.cut_short:
        print(f"[cut short: {result.cut_short}]")
    if result.fit is not None:
        print(f"[{fit_line(result.fit)}]")
    return 0 if result.verified is not False else 3


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench
    from .solver import load_solver

    solver = load_solver(
        args.kind,
        args.checkpoint,
        args.device,
        max_steps=args.max_steps,
        max_seconds=args.max_seconds,
    )
    if args.set or args.file:
        return bench_external(args, solver)
    if solver.fits_tasks:
        return bench_tasks(args, solver)
    tiers = args.tier.split(",") if args.tier else list(solver.kind.tiers)
    views = [int(v) for v in args.views.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    report = bench.run(solver, tiers, args.n, views, batches, args.max_steps, args.retry_views)
    print(bench.format_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    if args.record:
        from .checkpoint import save_card, shipped

        command = shlex.join(["trm-tool", *reproducing_args(args.argv)])
        path = args.checkpoint or shipped(args.kind)
        save_card(path, bench.recorded_card(solver.card, report, command))
        print(f"recorded in the model card of {path}")
    return 0


def bench_external(args: argparse.Namespace, solver) -> int:
    """Accuracy on sets we did not generate (see trm_tool/external.py)."""
    from . import bench
    from .external import load_set

    names = [*(args.set.split(",") if args.set else []), *([args.file] if args.file else [])]
    rows = []
    for name in names:
        puzzles = load_set(solver.kind, name, args.n, args.seed)
        rows.append(bench.external_accuracy(solver, puzzles, args.views_external, args.retry_views))
        row = rows[-1]
        print(f"{name}: {puzzles.source}: solved {row.solved:.3f} of {row.n}", flush=True)
    print(bench.format_external(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([row.model_dump() for row in rows], f, indent=2)
    if args.record:
        from .checkpoint import save_card, shipped

        command = shlex.join(["trm-tool", *reproducing_args(args.argv)])
        path = args.checkpoint or shipped(args.kind)
        save_card(path, bench.recorded_external(solver.card, rows, command))
        print(f"recorded in the model card of {path}")
    return 0


def bench_tasks(args: argparse.Namespace, solver) -> int:
    """Kinds fitted per task (ARC): pass@2 on a seeded sample of evaluation tasks."""
    from . import bench

    for tier in args.tier.split(",") if args.tier else list(solver.kind.tiers):
        row = bench.task_accuracy(
            args.kind,
            args.checkpoint,
            tier,
            args.n,
            args.seed,
            solver.policy.max_seconds,
            args.jobs,
            journal=Path(args.journal) if args.journal else None,
        )
        print(bench.format_tasks(row))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(row.model_dump(), f, indent=2)
        if args.record:
            from .checkpoint import save_card, shipped

            command = shlex.join(["trm-tool", *reproducing_args(args.argv)])
            path = args.checkpoint or shipped(args.kind)
            solver.card = bench.recorded_tasks(solver.card, row, command)
            save_card(path, solver.card)
            print(f"recorded in the model card of {path}")
    return 0


def reproducing_args(argv: list[str]) -> list[str]:
    """A bench command line without the flags that only say where results go."""
    kept, skip = [], False
    for arg in argv:
        if not skip and arg != "--record" and not arg.startswith(_WHERE_FLAGS):
            kept.append(arg)
        skip = arg in _WHERE_FLAGS
    return kept


_WHERE_FLAGS = ("--json", "--journal")


def cmd_import_official(args: argparse.Namespace) -> int:
    from .checkpoint import load_card
    from .official import import_to_dir

    weights = import_to_dir(args.path, args.kind, args.out, args.config, args.identifiers)
    card = load_card(weights)
    config = card.config
    print(
        f"wrote {weights} and its card: {card.parameters:,} parameters, {config.mixer}, "
        f"positions {config.positions}, T={config.n_improve_steps}, n={config.n_latent_steps}, "
        f"N_sup {config.max_supervision_steps}, sha256 of {args.path}: {card.source.sha256[:16]}..."
    )
    if card.source.assumed:
        print(
            "assumed from the official recipe (pass --config to be sure): "
            + ", ".join(
                f"{name}={card.source.official_config[name]}" for name in card.source.assumed
            )
        )
    print(f"solve with: trm-tool solve --kind {args.kind} --checkpoint {args.out} PUZZLE")
    return 0


def _kind_path(item: str) -> tuple[str, str]:
    kind, sep, path = item.partition("=")
    if not sep or kind not in KIND_NAMES:
        raise argparse.ArgumentTypeError(f"expected KIND=PATH with KIND one of {KIND_NAMES}")
    return kind, path


def _pool(args: argparse.Namespace) -> SolverPool:
    """A SolverPool from --checkpoint KIND=PATH (repeatable), --device and the solver options."""
    from .tool import SolverPool

    checkpoints = dict(args.checkpoint or [])
    options = {
        "views": args.views,
        "max_steps": args.max_steps,
        "retry_views": args.retry_views,
        "max_seconds": args.max_seconds,
    }
    return SolverPool(checkpoints, args.device, **options)


def _settings(args: argparse.Namespace):
    """ServerSettings from the --host, --port and limit flags (the key from $TRM_API_KEY)."""
    from .server import ServerSettings

    return ServerSettings(
        host=args.host,
        port=args.port,
        max_body_bytes=args.max_body_kb * 1024,
        timeout_s=args.timeout,
        max_in_flight=args.max_in_flight,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    settings = _settings(args)
    pool, chat = _pool(args), None
    if args.llm:
        from .chat_api import ChatService, make_llm

        chat = ChatService(make_llm(args.llm), pool)
    serve(pool, settings, chat)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from .mcp_server import run_mcp, serve_mcp_http

    if args.http:
        serve_mcp_http(_pool(args), _settings(args))
    else:
        run_mcp(_pool(args))
    return 0


def _add_pool_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        action="append",
        type=_kind_path,
        metavar="KIND=PATH",
        help="a kind's checkpoint file or directory, repeatable (default: the shipped ones)",
    )
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--views", type=int, default=8, help=VIEWS_HELP)
    parser.add_argument(
        "--max-steps", type=int, help="supervision steps per view (default: the model's)"
    )
    parser.add_argument("--retry-views", type=int, default=RETRY_VIEWS, help=RETRY_HELP)
    parser.add_argument("--max-seconds", type=float, help=budget_help())


def build_parser() -> argparse.ArgumentParser:
    """The `trm-tool` parser; `train` has its own (`trm-tool train --help`)."""
    parser = argparse.ArgumentParser(prog="trm-tool", description="Tiny Recursive Model tool")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("train", help="train a TRM (see `trm-tool train --help`)")
    add_solve(sub)
    add_bench(sub)
    add_serving(sub)
    add_import_official(sub)
    return parser


def add_solve(sub: argparse._SubParsersAction) -> None:
    solve = sub.add_parser("solve", help="solve one puzzle: a file, its text, or - for stdin")
    solve.add_argument(
        "puzzle", help="a file holding the puzzle, the puzzle text itself, or - to read stdin"
    )
    solve.add_argument(
        "--kind", default="auto", choices=[*KIND_NAMES, "auto"], help="default: detect it"
    )
    solve.add_argument("--checkpoint", help="default: the shipped checkpoint of the kind")
    solve.add_argument("--device", default="auto", help=DEVICE_HELP)
    solve.add_argument("--views", type=int, default=8, help=VIEWS_HELP)
    solve.add_argument(
        "--max-steps",
        type=int,
        help="supervision steps per view (default: the model's; may exceed 16)",
    )
    solve.add_argument("--retry-views", type=int, default=RETRY_VIEWS, help=RETRY_HELP)
    solve.add_argument("--max-seconds", type=float, help=budget_help())
    solve.add_argument(
        "--json", action="store_true", help="print the whole SolveResult as one JSON line"
    )
    solve.set_defaults(run=cmd_solve)


def add_bench(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="held-out accuracy and speed of a checkpoint")
    bench.add_argument("--kind", required=True, choices=KIND_NAMES, help="the puzzle kind")
    bench.add_argument("--checkpoint", help="default: the shipped checkpoint of the kind")
    bench.add_argument("--tier", help="comma-separated tiers (default: all)")
    bench.add_argument(
        "--n",
        type=int,
        default=200,
        help="held-out puzzles per tier (ARC: a seeded sample of evaluation tasks, 0 = all)",
    )
    bench.add_argument("--views", default="1,8", help="view counts to measure accuracy with")
    bench.add_argument(
        "--batches", default="1,64,256", help="comma-separated batch sizes to time the model at"
    )
    bench.add_argument(
        "--max-steps", type=int, help="supervision steps per view (default: the model's)"
    )
    bench.add_argument(
        "--retry-views",
        type=int,
        default=RETRY_VIEWS,
        help="also measure the most views plus this second round for misses (0: skip)",
    )
    bench.add_argument("--device", default="auto", help=DEVICE_HELP)
    bench.add_argument(
        "--set",
        help="comma-separated sets we did not generate, instead of the held-out tiers: "
        "magictour (Sudoku), maze-dataset/<algorithm>/<small|large> (mazes), or a file",
    )
    bench.add_argument("--file", help="a puzzle file: one puzzle per line, or blank-line blocks")
    bench.add_argument("--seed", type=int, default=0, help="which sample of a set to draw")
    bench.add_argument(
        "--jobs", type=int, default=2, help="tasks fitted at once, one process each (ARC)"
    )
    bench.add_argument(
        "--views-external", type=int, default=8, help="views per call on --set/--file puzzles"
    )
    bench.add_argument("--max-seconds", type=float, help=budget_help())
    bench.add_argument("--json", help="also write the report to this file")
    bench.add_argument(
        "--journal",
        help="ARC: a JSON-lines file of finished tasks; a stopped run given the same file "
        "resumes where it stopped",
    )
    bench.add_argument(
        "--record", action="store_true", help="write the results into the model card"
    )
    bench.set_defaults(run=cmd_bench)


def _add_limit_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept remote clients")
    parser.add_argument("--port", type=int, default=8000, help="the port to listen on")
    parser.add_argument("--max-body-kb", type=int, default=256, help="larger requests get 413")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per solve, then 504")
    parser.add_argument("--max-in-flight", type=int, default=64, help="then 503 + Retry-After")


def add_serving(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="HTTP API (POST /v1/solve, /v1/tools, /metrics)")
    _add_limit_args(serve)
    serve.add_argument(
        "--llm",
        metavar="BACKEND",
        help="also serve the LLM + TRM agent as an OpenAI-compatible model "
        "(/v1/chat/completions) and a chat page (/): local, openai:<base_url>[#model], hf:<dir>",
    )
    _add_pool_args(serve)
    serve.set_defaults(run=cmd_serve)

    mcp = sub.add_parser("mcp", help="MCP server with the same tools (stdio, or HTTP)")
    mcp.add_argument(
        "--http",
        action="store_true",
        help="streamable HTTP at http://HOST:PORT/mcp instead of stdio ($TRM_API_KEY applies)",
    )
    _add_limit_args(mcp)
    _add_pool_args(mcp)
    mcp.set_defaults(run=cmd_mcp)


def add_import_official(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser(
        "import-official", help="convert a checkpoint of the official TRM code (read safely)"
    )
    imp.add_argument("path", help="the official checkpoint (step_N / .pt, or .safetensors)")
    imp.add_argument("--kind", required=True, choices=KIND_NAMES, help="the puzzle kind")
    imp.add_argument("--out", required=True, help="directory for <kind>.safetensors + card")
    imp.add_argument(
        "--config",
        help="the run's all_config.yaml or config JSON (default: next "
        "to the checkpoint, else inferred from tensor shapes)",
    )
    imp.add_argument("--identifiers", help="ARC: the dataset's identifiers.json (task names)")
    imp.set_defaults(run=cmd_import_official)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "train":
        from .train import main as train_main

        train_main(argv[1:])
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        return args.run(args)
    except (PuzzleError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
