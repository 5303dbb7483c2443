"""What `/openapi.json` says about the HTTP API, kept apart from the routes: operation ids,
summaries, examples and the error responses exactly as the server sends them, so apps that
import OpenAPI tool servers (Open WebUI's tools, for one) call `/v1/solve` correctly."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

SUDOKU_EXAMPLE = (
    "53..7....\n6..195...\n.98....6.\n8...6...3\n4..8.3..1\n7...2...6\n.6....28.\n"
    "...419..5\n....8..79"
)
SUDOKU_SOLUTION = (
    "534678912\n672195348\n198342567\n859761423\n426853791\n713924856\n961537284\n"
    "287419635\n345286179"
)


class ErrorBody(BaseModel):
    """Every error of the HTTP API but the OpenAI-compatible routes' (`OpenAIErrorBody`): one
    sentence on what was wrong and what is expected."""

    error: str = Field(description="what was wrong, and what the server expects instead")


def _error(description: str, example: str, headers: dict[str, str] | None = None) -> dict:
    response: dict[str, Any] = {
        "model": ErrorBody,
        "description": description,
        "content": {"application/json": {"example": {"error": example}}},
    }
    if headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return response


KEY_MISSING = (
    "Missing or wrong API key. Send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."
)
UNAUTHORIZED = _error(
    "The server has an API key and the request did not carry it.",
    KEY_MISSING,
    {"WWW-Authenticate": "the scheme to use: Bearer"},
)
NOT_FOUND = _error(
    "No trained model is installed for the puzzle's kind.",
    "No trained model is available for maze puzzles: ... Kinds with a model: sudoku.",
)
TOO_LARGE = _error(
    "The body is larger than the server's limit (`--max-body-kb`).",
    "The request body is larger than this server's limit of 262,144 bytes. Send one puzzle "
    "per request.",
)
INVALID = _error(
    "The body is not a valid request (bad JSON, a missing or unknown field), or the puzzle "
    "text cannot be read as the kind.",
    "Could not read the puzzle: No Sudoku grid found in the text. Sudoku: 9x9 grid, digits "
    "1-9, blanks as 0 . _ - * (or space). ...",
)
OVERLOADED = _error(
    "Every solve slot is busy (`--max-in-flight`); retry after the given seconds.",
    "The server is busy: all 64 solve slots are in use. Retry after 1 s.",
    {"Retry-After": "seconds to wait before retrying"},
)
TIMEOUT = _error(
    "The solve took longer than the server's limit (`--timeout`).",
    "The solve took longer than the server's limit of 30 s. Retry later, or ask for fewer "
    "options.max_steps, options.views or options.retry_views.",
)

PROTECTED = {401: UNAUTHORIZED, 413: TOO_LARGE}
"""Errors any endpoint behind the API key and the body limit can answer."""
SOLVE_ERRORS = {
    **PROTECTED,
    404: NOT_FOUND,
    422: INVALID,
    503: OVERLOADED,
    504: TIMEOUT,
}


class OpenAIError(BaseModel):
    """The fields of an error in OpenAI's shape."""

    message: str = Field(description="what was wrong, and what the server expects instead")
    type: str = Field(description="invalid_request_error (a bad request) or server_error")
    param: str | None = Field(description="the request field at fault, where there is one")
    code: str | None = Field(description="invalid_api_key for a 401; otherwise null")


class OpenAIErrorBody(BaseModel):
    """An error of the OpenAI-compatible routes (`--llm`), in OpenAI's shape."""

    error: OpenAIError


def openai_error_body(status: int, message: str, param: str | None = None) -> dict:
    """An `OpenAIErrorBody` as JSON: a 401 is an invalid_api_key, a 5xx a server_error."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    code = "invalid_api_key" if status == 401 else None
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _openai(response: dict, status: int) -> dict:
    """A documented error of ours, in OpenAI's shape (for the OpenAI-compatible routes)."""
    example = response["content"]["application/json"]["example"]["error"]
    content = {"application/json": {"example": openai_error_body(status, example)}}
    return response | {"model": OpenAIErrorBody, "content": content}


CHAT_PROTECTED = {401: _openai(UNAUTHORIZED, 401), 413: _openai(TOO_LARGE, 413)}
"""PROTECTED for the OpenAI-compatible routes, in OpenAI's shape as every error there."""

SOLVE_EXAMPLES = {
    "sudoku": {
        "summary": "A Sudoku, kind detected",
        "value": {"puzzle": SUDOKU_EXAMPLE},
    },
    "maze": {
        "summary": "A maze with options",
        "value": {
            "kind": "maze",
            "puzzle": "#######\n#S..#.#\n#.#.#.#\n#.#...#\n#...#G#\n#######",
            "options": {"views": 4, "max_seconds": 5},
        },
    },
}
SOLVE_RESPONSE_EXAMPLE = {
    "kind": "sudoku",
    "grid": [[int(c) for c in row] for row in SUDOKU_SOLUTION.split()],
    "solution_text": SUDOKU_SOLUTION,
    "verified": True,
    "confidence": 0.98,
    "steps": 6,
    "latency_ms": 41.2,
    "views": 8,
}
