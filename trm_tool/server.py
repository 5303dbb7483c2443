"""The TRM tools as services for chat applications that do not run LangChain in-process.

`create_app` is an HTTP API (FastAPI): `POST /v1/solve`, `GET /v1/tools` (OpenAI function
schemas, so any chat app can offer the tools to its LLM), `GET /healthz`, `GET /metrics`
(Prometheus text). Blocking solves run in a thread pool so that concurrent requests reach the
Solver's queue together and are merged into one batched recursion. The service is stateless;
scale it with replicas behind a load balancer.

The same tools over the Model Context Protocol (stdio and HTTP) are in trm_tool/mcp_server.py;
the agent as an OpenAI-compatible model and the chat page in trm_tool/chat_api.py.

Every HTTP error is JSON `{"error": "..."}` saying what was wrong and what is expected; the
OpenAI-compatible routes answer theirs, 401 included, in OpenAI's shape (chat_api.ChatError).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api_docs import (
    KEY_MISSING,
    PROTECTED,
    SOLVE_ERRORS,
    SOLVE_EXAMPLES,
    SOLVE_RESPONSE_EXAMPLE,
    openai_error_body,
)
from .checkpoint import CheckpointError, CheckpointMissing
from .puzzles import KIND_NAMES, Puzzle, PuzzleError, parse
from .solver import Solver, SolveResult
from .tool import (
    MAX_PUZZLE_CHARS,
    SolveGridPuzzleInput,
    SolverPool,
    openai_tool_schemas,
    trm_tools,
)

if TYPE_CHECKING:
    from .chat_api import ChatService

log = logging.getLogger(__name__)

API_KEY_ENV = "TRM_API_KEY"
ENDPOINTS = ("/v1/solve", "/v1/tools", "/healthz", "/metrics")
OPENAI_ENDPOINTS = ("/v1/models", "/v1/chat/completions")
"""Their errors, 401 included, have OpenAI's shape, which their clients read."""
CHAT_ENDPOINTS = ("/", *OPENAI_ENDPOINTS)
"""Served with `--llm` (trm_tool.chat_api)."""
OPEN_ENDPOINTS = ("/healthz",)
"""Reachable without the API key, so load balancers can probe replicas."""

# ---------------------------------------------------------------------------------------------
# Settings and request bodies


def _api_key_from_env() -> SecretStr | None:
    value = os.environ.get(API_KEY_ENV, "")
    return SecretStr(value) if value else None


class ServerSettings(BaseModel):
    """How one `trm-tool serve` process behaves; the defaults suit one replica on one host."""

    host: str = Field(default="127.0.0.1", description="bind address; local only by default")
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=256 * 1024, ge=1, description="larger bodies get 413")
    timeout_s: float = Field(default=30.0, gt=0, description="per-solve limit; then 504")
    max_in_flight: int = Field(
        default=64, ge=1, description="solves running at once; more get 503 with Retry-After"
    )
    retry_after_s: int = Field(default=1, ge=0)
    api_key: SecretStr | None = Field(
        default_factory=_api_key_from_env,
        description=f"when set (default: ${API_KEY_ENV}), every endpoint but /healthz needs it",
    )


class SolveOptions(BaseModel):
    """Per-request solver settings; unknown fields are rejected so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int | None = Field(
        default=None, ge=1, le=256, description="supervision step budget (default: the model's)"
    )
    views: int | None = Field(
        default=None, ge=1, le=64, description="test-time augmentation views voted over"
    )
    retry_views: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description="fresh views per retry round while no view verifies (0: no retries)",
    )
    max_seconds: float | None = Field(
        default=None,
        ge=0,
        le=600,
        description="time budget for the search (default: the kind's; 0: none); when it runs "
        "out the best answer so far comes back with cut_short saying so",
    )


class SolveRequest(BaseModel):
    """The body of POST /v1/solve: the same arguments as the solve_grid_puzzle tool."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["auto", "sudoku", "maze", "arc"] = Field(
        default="auto", description=SolveGridPuzzleInput.model_fields["kind"].description
    )
    puzzle: str = Field(
        description=SolveGridPuzzleInput.model_fields["puzzle"].description,
        max_length=MAX_PUZZLE_CHARS,
    )
    options: SolveOptions = Field(default_factory=SolveOptions)


EXPECTED_BODY = (
    'Expected a JSON object (Content-Type: application/json) like {"puzzle": "<the puzzle '
    'text>", "kind": "auto" | "sudoku" | "maze" | "arc", "options": {"max_steps": <int 1-256>, '
    '"views": <int 1-64>, "retry_views": <int 0-64>, "max_seconds": <number 0-600>}}; kind '
    '(default "auto") and options are optional.'
)

# ---------------------------------------------------------------------------------------------
# Errors


class ApiError(Exception):
    """An anticipated failure with the HTTP status, metrics reason and message to answer."""

    def __init__(
        self, status: int, reason: str, message: str, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.reason, self.message, self.headers = status, reason, message, headers


class ModelUnavailable(PuzzleError):
    """The puzzle kind is known, but no trained checkpoint for it is installed."""


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """FastAPI's validation errors as one sentence a person (or an LLM) can act on."""
    problems = []
    for error in errors:
        where = ".".join(str(part) for part in error["loc"] if part != "body")
        if error["type"] == "json_invalid":
            detail = error.get("ctx", {}).get("error", "")
            problems.append(f"the body is not valid JSON ({detail} at character {where})")
        elif error["type"] == "missing":
            problems.append(f"field '{where}' is missing" if where else "the body is missing")
        elif error["type"] == "extra_forbidden":
            problems.append(f"field '{where}' is not allowed")
        else:
            problems.append(f"{f'field {where!r}' if where else 'the body'}: {error['msg']}")
    return f"Invalid request: {'; '.join(problems)}. {EXPECTED_BODY}"


# ---------------------------------------------------------------------------------------------
# Solving


class Solvers:
    """The pool's Solver per kind; each request's options go to its call (`SearchPolicy`)."""

    def __init__(self, pool: SolverPool, timeout_s: float | None = None):
        self.pool = pool
        self.max_budget = None if timeout_s is None else 0.9 * timeout_s
        """The longest search a request may ask for: within the server's per-solve limit, so a
        long budget (ARC's 120 s) ends with the best answer so far instead of a 504."""
        self._solvers: dict[str, Solver] = {}
        self._lock = threading.Lock()

    def get(self, kind: str) -> Solver:
        try:
            solver = self.pool.get(kind)
        except CheckpointError as err:
            raise ModelUnavailable(
                f"No trained model is available for {kind} puzzles: {err}. Kinds with a model: "
                f"{', '.join(self.models()) or 'none'}."
            ) from err
        with self._lock:
            self._solvers[kind] = solver
        return solver

    def read(self, request: SolveRequest) -> tuple[Solver, Puzzle]:
        """The request's puzzle, read in full, and the Solver of its kind: PuzzleError says
        what is wrong with it, ModelUnavailable that its kind has no model. Blocking (a long
        text takes a while to read); the server calls it before taking a solve slot, so bad
        input gets its 4xx even while every slot is busy."""
        puzzle = parse(request.kind, request.puzzle)
        return self.get(puzzle.kind), puzzle

    def solve(self, solver: Solver, puzzle: Puzzle, request: SolveRequest) -> SolveResult:
        """Blocking; call from a worker thread with what `read` returned."""
        options = request.options
        budget = solver.policy.max_seconds if options.max_seconds is None else options.max_seconds
        if self.max_budget is not None:
            budget = min(budget or self.max_budget, self.max_budget)
        return solver.solve(
            puzzle,
            max_steps=options.max_steps,
            max_seconds=budget,
            views=options.views,
            retry_views=options.retry_views,
        )

    def load_all(self) -> list[str]:
        """Load every kind that has a checkpoint, so the first requests do not wait for it.
        A kind without one is skipped; one that fails its check (corrupted, altered) raises,
        so the server refuses to start rather than run without it or with a wrong model."""
        for kind in KIND_NAMES:
            try:
                self.get(kind)
            except ModelUnavailable as err:
                if not isinstance(err.__cause__, CheckpointMissing):
                    raise
        return self.models()

    def models(self) -> list[str]:
        """Kinds with a loaded model."""
        with self._lock:
            return sorted(self._solvers, key=KIND_NAMES.index)

    def by_kind(self) -> dict[str, Solver]:
        """Every Solver in use, by kind, for metrics."""
        with self._lock:
            return dict(self._solvers)


class SolveSlots:
    """Counts solves running in worker threads, including ones whose client has given up:
    a timed-out solve keeps its thread until the model finishes, so it keeps its slot."""

    def __init__(self, limit: int):
        self.limit, self.busy = limit, 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self.busy >= self.limit:
                return False
            self.busy += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.busy -= 1


async def run_solve(
    executor: ThreadPoolExecutor,
    slots: SolveSlots,
    settings: ServerSettings,
    job: Callable[[], SolveResult],
) -> SolveResult:
    """Run a blocking solve off the event loop, within the slot and time limits."""
    if not slots.try_acquire():
        raise ApiError(
            503,
            "overloaded",
            f"The server is busy: all {slots.limit} solve slots are in use. Retry after "
            f"{settings.retry_after_s} s.",
            {"Retry-After": str(settings.retry_after_s)},
        )
    try:
        future = executor.submit(job)
    except RuntimeError:
        slots.release()
        raise
    future.add_done_callback(lambda _: slots.release())
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), settings.timeout_s)
    except asyncio.TimeoutError:
        raise ApiError(
            504,
            "timeout",
            f"The solve took longer than the server's limit of {settings.timeout_s:g} s. Retry "
            "later, or ask for fewer options.max_steps, options.views or options.retry_views.",
        ) from None


# ---------------------------------------------------------------------------------------------
# Metrics


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Histogram:
    """A Prometheus histogram: cumulative bucket counts, sum and count."""

    def __init__(self, bounds: Sequence[float]):
        self.bounds, self.counts, self.sum, self.count = bounds, [0] * len(bounds), 0.0, 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            self.counts[i] += value <= bound
        self.sum += value
        self.count += 1

    def lines(self, name: str, labels: str) -> list[str]:
        out = [
            f'{name}_bucket{{{labels},le="{bound:g}"}} {count}'
            for bound, count in zip(self.bounds, self.counts)
        ]
        out.append(f'{name}_bucket{{{labels},le="+Inf"}} {self.count}')
        out.append(f"{name}_sum{{{labels}}} {self.sum:.6g}")
        out.append(f"{name}_count{{{labels}}} {self.count}")
        return out


def _header(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


class Metrics:
    """Request counts, errors and latencies, written in the Prometheus text format by hand.

    Only the event loop updates it, so it needs no lock."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.errors: Counter[str] = Counter()
        self.latency: dict[str, Histogram] = {}

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests[(endpoint, status)] += 1
        self.latency.setdefault(endpoint, Histogram(LATENCY_BUCKETS)).observe(seconds)

    def render(self, solvers: dict[str, Solver], in_flight: int) -> str:
        lines = _header("trm_requests_total", "counter", "HTTP requests by endpoint and status.")
        for (endpoint, status), count in sorted(self.requests.items()):
            lines.append(f'trm_requests_total{{endpoint="{endpoint}",status="{status}"}} {count}')
        lines += _header("trm_errors_total", "counter", "Error responses by reason.")
        for reason, count in sorted(self.errors.items()):
            lines.append(f'trm_errors_total{{reason="{reason}"}} {count}')
        name = "trm_request_duration_seconds"
        lines += _header(name, "histogram", "Time to answer a request.")
        for endpoint, histogram in sorted(self.latency.items()):
            lines += histogram.lines(name, f'endpoint="{endpoint}"')
        lines += _header("trm_solves_in_flight", "gauge", "Solves running now.")
        lines.append(f"trm_solves_in_flight {in_flight}")
        name = "trm_solver_batch_size"
        lines += _header(name, "histogram", "Puzzles merged into one batched recursion.")
        for kind, solver in sorted(solvers.items()):
            histogram = Histogram(BATCH_BUCKETS)
            for size in list(solver.batch_sizes):
                histogram.observe(size)
            lines += histogram.lines(name, f'kind="{kind}"')
        return "\n".join(lines) + "\n"


def error_response(
    metrics: Metrics,
    status: int,
    reason: str,
    message: str,
    headers: dict | None = None,
    path: str = "",
) -> JSONResponse:
    """{"error": message}; on the OpenAI-compatible routes, OpenAI's error shape, so their
    clients read every error there, also those that never reach the route (401, 404, 405, 413)."""
    metrics.errors[reason] += 1
    body = openai_error_body(status, message) if path in OPENAI_ENDPOINTS else {"error": message}
    return JSONResponse(body, status_code=status, headers=headers)


# ---------------------------------------------------------------------------------------------
# Middleware (plain ASGI, so that they see every request, also those that never reach a route)


class RecordMetrics:
    """Counts every response by endpoint and status and times it."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        known = scope["path"] in ENDPOINTS + CHAT_ENDPOINTS
        endpoint = scope["path"] if known else "other"
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.observe(endpoint, status, time.perf_counter() - start)


class RequireApiKey:
    """With a key configured, answers 401 unless `Authorization: Bearer <key>` or
    `X-API-Key: <key>` carries it."""

    def __init__(self, app: ASGIApp, key: SecretStr | None, metrics: Metrics):
        self.app, self.metrics = app, metrics
        self.key = key.get_secret_value().encode() if key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.key is None or scope["type"] != "http" or scope["path"] in OPEN_ENDPOINTS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        bearer = headers.get(b"authorization", b"")
        offered = bearer[7:].strip() if bearer[:7].lower() == b"bearer " else b""
        offered = offered or headers.get(b"x-api-key", b"").strip()
        if offered and secrets.compare_digest(offered, self.key):
            await self.app(scope, receive, send)
            return
        await self._unauthorized(scope["path"])(scope, receive, send)

    def _unauthorized(self, path: str) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"}
        return error_response(self.metrics, 401, "unauthorized", KEY_MISSING, headers, path)


class LimitBody:
    """Reads the request body up to `max_bytes` and answers 413 beyond it, whether or not the
    client declared a Content-Length."""

    def __init__(self, app: ASGIApp, max_bytes: int, metrics: Metrics):
        self.app, self.max_bytes, self.metrics = app, max_bytes, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = (
            f"The request body is larger than this server's limit of {self.max_bytes:,} bytes. "
            "Send one puzzle per request."
        )
        response = error_response(self.metrics, 413, "too_large", message, path=scope["path"])
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that yields the already-read body once, then the client's own."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


# ---------------------------------------------------------------------------------------------
# The HTTP app


def create_app(
    pool: SolverPool, settings: ServerSettings | None = None, chat: ChatService | None = None
) -> FastAPI:
    """The HTTP API over `pool`; models load at startup so /healthz can say which exist.
    With `chat`, also the agent as an OpenAI-compatible model and the chat page."""
    settings = settings or ServerSettings()
    solvers, metrics, slots = (
        Solvers(pool, settings.timeout_s),
        Metrics(),
        SolveSlots(settings.max_in_flight),
    )
    executor = ThreadPoolExecutor(settings.max_in_flight, thread_name_prefix="trm-solve")
    tool_schemas = openai_tool_schemas(trm_tools(pool))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        models = await asyncio.to_thread(solvers.load_all)
        log.info("trm-tool serving models: %s", ", ".join(models) or "none")
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="trm-tool", version="1", lifespan=lifespan)
    _add_error_handlers(app, metrics)
    app.add_middleware(LimitBody, max_bytes=settings.max_body_bytes, metrics=metrics)
    app.add_middleware(RequireApiKey, key=settings.api_key, metrics=metrics)
    app.add_middleware(RecordMetrics, metrics=metrics)

    @app.post(
        "/v1/solve",
        operation_id="solve",
        summary="Solve a Sudoku, a maze or an ARC task given as text",
        response_model=SolveResult,
        responses={200: {"content": {"application/json": {"example": SOLVE_RESPONSE_EXAMPLE}}}}
        | SOLVE_ERRORS,
    )
    async def solve(body: Annotated[SolveRequest, Body(openapi_examples=SOLVE_EXAMPLES)]):
        """Solve one puzzle with the trained TRM and answer the solution in the puzzle's own
        text format, with `verified` saying whether an exact check confirmed it (Sudoku, maze;
        null for ARC). `kind` defaults to `auto` (detected from the text). Concurrent requests
        are batched by the solver."""
        solver, puzzle = await asyncio.to_thread(solvers.read, body)  # bad input: 4xx, no slot
        solve = functools.partial(solvers.solve, solver, puzzle, body)
        return await run_solve(executor, slots, settings, solve)

    @app.get(
        "/v1/tools",
        operation_id="list_tools",
        summary="The tools as OpenAI function schemas",
        responses=PROTECTED,
    )
    async def tools() -> list[dict]:
        """OpenAI-style function schemas of the tools, to hand to any chat model."""
        return tool_schemas

    @app.get("/healthz", operation_id="health", summary="Liveness and the loaded models")
    async def healthz() -> dict:
        """Open without the API key, for load balancers."""
        return {"status": "ok", "models": solvers.models(), "in_flight": slots.busy}

    @app.get(
        "/metrics",
        operation_id="metrics",
        summary="Prometheus metrics",
        response_class=PlainTextResponse,
        responses=PROTECTED,
    )
    async def prometheus() -> PlainTextResponse:
        text = metrics.render(solvers.by_kind(), slots.busy)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    if chat is not None:
        from .chat_api import chat_router

        app.include_router(chat_router(chat, executor, slots))
    return app


def _add_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    """Every error as {"error": message}; bad input is a 4xx, never a 500."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> JSONResponse:
        return error_response(metrics, err.status, err.reason, err.message, err.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, err: RequestValidationError) -> JSONResponse:
        return error_response(
            metrics, 422, "invalid_request", describe_validation_errors(err.errors())
        )

    @app.exception_handler(ModelUnavailable)
    async def no_model(_: Request, err: ModelUnavailable) -> JSONResponse:
        return error_response(metrics, 404, "no_model", str(err))

    @app.exception_handler(PuzzleError)
    async def bad_puzzle(_: Request, err: PuzzleError) -> JSONResponse:
        return error_response(metrics, 422, "bad_puzzle", f"Could not read the puzzle: {err}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        path = request.url.path
        endpoints = ENDPOINTS + OPENAI_ENDPOINTS if path in OPENAI_ENDPOINTS else ENDPOINTS
        message = f"{request.method} {path}: {err.detail}. Endpoints: " + ", ".join(endpoints)
        return error_response(
            metrics, err.status_code, f"http_{err.status_code}", message, err.headers, path
        )

    @app.exception_handler(Exception)
    async def internal(_: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error while answering a request", exc_info=err)
        reason = f"{type(err).__name__}: {err}"[:300]
        return error_response(
            metrics, 500, "internal", f"Internal server error ({reason}); see the server log."
        )


def serve(pool: SolverPool, settings: ServerSettings, chat: ChatService | None = None) -> None:
    """Run the HTTP API (with `chat`: also the chat endpoint and page) until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    uvicorn.run(create_app(pool, settings, chat), host=settings.host, port=settings.port)


__all__ = [
    "ServerSettings",
    "SolveOptions",
    "SolveRequest",
    "create_app",
    "serve",
]
