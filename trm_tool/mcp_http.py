"""`trm-tool mcp --http`: the MCP tools over MCP's streamable HTTP transport (at `/mcp`),
behind the same API key, body limit, solve slots and per-solve time limit as `trm-tool serve`.
Stateless, like the HTTP service, so replicas can sit behind a load balancer."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp

from .server import LimitBody, Metrics, RequireApiKey, ServerSettings, create_mcp_server
from .tool import SolverPool

MCP_PATH = "/mcp"


def create_mcp_http_app(pool: SolverPool, settings: ServerSettings) -> ASGIApp:
    """The streamable-HTTP MCP app, wrapped in the HTTP service's key check and body limit."""
    server = create_mcp_server(pool, settings)
    app = server.streamable_http_app(
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
    app = create_mcp_http_app(pool, settings)
    uvicorn.run(app, host=settings.host, port=settings.port)
