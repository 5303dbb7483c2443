"""The TRM tools over the Model Context Protocol: `trm-tool mcp` (stdio, for clients that
start it as a subprocess) and `trm-tool mcp --http` (MCP's streamable HTTP transport at
`/mcp`, behind the same API key, body limit, solve slots and per-solve time limit as
`trm-tool serve`; stateless, so replicas can sit behind a load balancer). A tool answers with
exactly the text the LangChain tools give the LLM."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field
from starlette.types import ASGIApp

from .puzzles import PuzzleError
from .server import (
    ApiError,
    LimitBody,
    Metrics,
    RequireApiKey,
    ServerSettings,
    SolveSlots,
    run_solve,
)
from .tool import (
    MAX_PUZZLE_CHARS,
    SolveGridPuzzleInput,
    SolvePuzzleInput,
    SolverPool,
    describe,
    trm_tools,
)

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

MCP_PATH = "/mcp"

KindArg = Annotated[
    Literal["auto", "sudoku", "maze", "arc"],
    Field(description=SolveGridPuzzleInput.model_fields["kind"].description),
]
AnyPuzzleArg = Annotated[
    str,
    Field(
        description=SolveGridPuzzleInput.model_fields["puzzle"].description,
        max_length=MAX_PUZZLE_CHARS,
    ),
]
PuzzleArg = Annotated[
    str,
    Field(
        description=SolvePuzzleInput.model_fields["puzzle"].description,
        max_length=MAX_PUZZLE_CHARS,
    ),
]


def create_mcp_server(pool: SolverPool, settings: ServerSettings | None = None) -> MCPServer:
    """An MCP server with the same tools, names and descriptions as `trm_tools(pool)`; a tool
    answers with `describe(result)`, bad input is a tool error with the readable message.
    With `settings` (MCP over HTTP), solves keep the HTTP service's slot and time limits."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    limits = settings and (
        ThreadPoolExecutor(settings.max_in_flight, thread_name_prefix="trm-mcp"),
        SolveSlots(settings.max_in_flight),
        settings,
    )

    async def run(kind: str, puzzle: str) -> str:
        try:
            # Read before taking a slot: bad input is refused even while every slot is busy.
            solver, parsed = await asyncio.to_thread(pool.read, kind, puzzle)
            job = functools.partial(solver.solve, parsed)
            result = await (run_solve(*limits, job) if limits else asyncio.to_thread(job))
        except PuzzleError as err:
            raise ToolError(f"Could not solve the puzzle: {err}") from err
        except ApiError as err:
            raise ToolError(err.message) from err
        return describe(result)

    def solve_one_kind(kind: str) -> Callable[[str], Awaitable[str]]:
        async def solve(puzzle: PuzzleArg) -> str:
            return await run(kind, puzzle)

        return solve

    async def solve_any(puzzle: AnyPuzzleArg, kind: KindArg = "auto") -> str:
        return await run(kind, puzzle)

    server = MCPServer("trm-tool", instructions="Exact grid-puzzle solving with a TRM.")
    for tool in trm_tools(pool):
        kind = tool.name.removeprefix("solve_")
        fn = solve_any if tool.name == "solve_grid_puzzle" else solve_one_kind(kind)
        server.add_tool(fn, name=tool.name, description=tool.description, structured_output=False)
    return server


def run_mcp(pool: SolverPool) -> None:
    """Serve the MCP tools over stdio until the client closes the connection."""
    create_mcp_server(pool).run("stdio")


def create_mcp_http_app(pool: SolverPool, settings: ServerSettings) -> ASGIApp:
    """The streamable-HTTP MCP app, wrapped in the HTTP service's key check and body limit."""
    app = create_mcp_server(pool, settings).streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        max_request_body_size=settings.max_body_bytes,
        host=settings.host,
    )
    metrics = Metrics()
    return RequireApiKey(
        LimitBody(app, settings.max_body_bytes, metrics), settings.api_key, metrics
    )


def serve_mcp_http(pool: SolverPool, settings: ServerSettings) -> None:
    """Serve MCP over HTTP with uvicorn until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    uvicorn.run(create_mcp_http_app(pool, settings), host=settings.host, port=settings.port)
