"""Fuzzing (fast part): every parser, the tools' argument schemas and POST /v1/solve's body,
with hypothesis drawing from the structured families of fuzz.py and from arbitrary text,
bytes and JSON. The volume run is `python -m tests.reliability fuzz`."""

from __future__ import annotations

import json
import random
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from trm_tool.puzzles import PuzzleError, parse
from trm_tool.server import ServerSettings, create_app
from trm_tool.tool import MAX_PUZZLE_CHARS, SolverPool, trm_tools

from .fuzz import FAMILIES, KINDS, MAX_REJECT_S, Tally, check, warm_up
from .serving import running

WALL_LIMIT_S = 5 * MAX_REJECT_S
"""Wall time for a rejection over HTTP: on this shared 2-core machine (load ~15) wall time
runs ~6x the parse's own CPU time, which the parser tests hold to MAX_REJECT_S."""
FAST = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
family_texts = st.builds(
    lambda name, seed: FAMILIES[name](random.Random(seed)),
    st.sampled_from(sorted(FAMILIES)),
    st.integers(0, 2**32),
)
texts = st.one_of(
    family_texts,
    st.text(max_size=2000),
    st.binary(max_size=2000).map(lambda raw: raw.decode("latin-1")),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=30,
)


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    warm_up()


@pytest.mark.parametrize("kind", KINDS)
def test_parsers_raise_only_puzzle_error_quickly_and_accept_only_valid_puzzles(kind: str):
    tally = Tally()

    @FAST
    @given(texts)
    def run(text: str) -> None:
        check(kind, text, tally)

    run()
    assert not tally.failures, "\n".join(tally.failures)
    assert tally.accepted and tally.rejected, tally  # both sides were reached


def test_each_family_reaches_every_kind_parser_without_breaking_it():
    """Seeded, not shrunk: 40 inputs per family and kind, so no family goes untried."""
    tally = Tally()
    for seed, name in enumerate(sorted(FAMILIES)):
        rng = random.Random(seed)
        for _ in range(40):
            text = FAMILIES[name](rng)
            for kind in KINDS:
                check(kind, text, tally, exact=False)
    assert not tally.failures, "\n".join(tally.failures)


@FAST
@given(json_values)
def test_tool_argument_schemas_take_or_refuse_any_json(value: object):
    for tool in trm_tools(SolverPool()):
        schema = tool.args_schema
        try:
            args = schema.model_validate(value)
        except ValidationError:
            continue
        puzzle = args.puzzle
        assert isinstance(puzzle, str) and len(puzzle) <= MAX_PUZZLE_CHARS
        assert getattr(args, "kind", "auto") in KINDS
        try:
            parse(getattr(args, "kind", "auto"), puzzle)
        except PuzzleError:
            pass


@pytest.fixture(scope="module")
def client() -> httpx.Client:
    pool = SolverPool(device="cpu", views=1, retry_views=0, max_seconds=2.0)
    with running(create_app(pool, ServerSettings(api_key=None, timeout_s=3))) as url:
        with httpx.Client(base_url=url, timeout=60) as http:
            yield http


def post_and_check(client: httpx.Client, content: bytes) -> int:
    start = time.perf_counter()
    response = client.post(
        "/v1/solve", content=content, headers={"Content-Type": "application/json"}
    )
    seconds = time.perf_counter() - start
    assert response.status_code == 200 or 400 <= response.status_code < 500, (
        response.status_code,
        response.text[:300],
        content[:200],
    )
    if response.status_code != 200:
        assert list(response.json()) == ["error"]
        assert seconds < WALL_LIMIT_S, (seconds, content[:200])
    return response.status_code


bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=3000),
    st.builds(
        lambda kind, text, options: json.dumps(
            {"kind": kind, "puzzle": text, "options": options}
        ).encode(),
        st.sampled_from([*KINDS, "chess", 3, None]),
        texts,
        st.one_of(
            st.just({}),
            st.fixed_dictionaries(
                {},
                optional={
                    "views": st.integers(-5, 10_000),
                    "max_steps": st.integers(-5, 10_000),
                    "retry_views": st.integers(-5, 10_000),
                    "max_seconds": st.floats(allow_nan=True, allow_infinity=True),
                    "debug": st.booleans(),
                },
            ),
        ),
    ),
)


@settings(FAST, max_examples=150)
@given(bodies)
def test_solve_endpoint_answers_any_body_with_200_or_a_quick_json_4xx(
    client: httpx.Client, body: bytes
):
    post_and_check(client, body)
