"""Overload of a real `trm-tool serve` process: a burst of 10x --max-in-flight requests is
answered in full (200, or 503 with Retry-After; no reset, no 500), and clients that hang up
mid-solve leave no solve behind. The soak is `python -m tests.reliability soak`."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from .load import burst, hang_up, in_flight, mixed_body, resources, wait_idle
from .serving import serve_process

MAX_IN_FLIGHT = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, int]]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    args = ("--max-in-flight", str(MAX_IN_FLIGHT), "--device", "cpu")
    with serve_process(*args, log=log, env={"OMP_NUM_THREADS": "1"}) as (url, process):
        yield url, process.pid


def test_a_burst_of_ten_times_max_in_flight_is_answered_in_full(server: tuple[str, int]):
    url, _ = server
    outcomes = burst(url, 10 * MAX_IN_FLIGHT)
    statuses = Counter(o.status for o in outcomes)
    assert set(statuses) <= {200, 503}, statuses  # no 500, no reset connection
    assert statuses[200] >= 1 and statuses[503] >= 1, statuses
    assert all(o.retry_after is not None for o in outcomes if o.status == 503)
    wait_idle(url, timeout=120)
    after = httpx.post(f"{url}/v1/solve", json=mixed_body(random.Random(5), 0), timeout=120)
    assert after.status_code == 200  # healthy after the burst


def test_clients_that_hang_up_mid_solve_leave_no_solve_behind(server: tuple[str, int]):
    url, pid = server
    wait_idle(url, timeout=120)
    before = resources(pid)
    for seed in range(3):
        body = mixed_body(random.Random(seed), bad_share=0)
        hang_up(url, json.dumps(body).encode())
    seconds = wait_idle(url, timeout=120)
    assert in_flight(url) == 0
    after = resources(pid)
    assert after["threads"] <= before["threads"] + MAX_IN_FLIGHT, (before, after)
    assert after["fds"] <= before["fds"] + 2, (before, after)
    assert seconds < 120
