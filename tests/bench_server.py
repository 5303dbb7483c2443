"""Sustained throughput and latency of the HTTP API under concurrent clients (not a test).

    .venv/bin/python tests/bench_server.py --clients 32 --duration 20

Serves the shipped Sudoku checkpoint in-process on a free local port (or measures a running
server given with --url), warms it up, then keeps `--clients` threads posting distinct
puzzles back to back for `--duration` seconds. Prints requests/s, latency percentiles, the
requests that did not get a 200 (dropped) and the mean solver batch size from /metrics.
Exits 1 when anything was dropped.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import httpx
import torch
from test_server import running, sudoku_texts

from trm_tool.server import ServerSettings, create_app
from trm_tool.tool import SolverPool


def batch_totals(client: httpx.Client) -> tuple[float, float]:
    """(puzzles, batches) the Sudoku solver has run so far, from /metrics."""
    text = client.get("/metrics").text
    totals = []
    for part in ("sum", "count"):
        match = re.search(rf'^trm_solver_batch_size_{part}{{kind="sudoku"}} (\S+)$', text, re.M)
        totals.append(float(match.group(1)) if match else 0.0)
    return totals[0], totals[1]


def hammer(url: str, texts: list[str], clients: int, duration: float) -> tuple[list, list]:
    """Each client posts puzzles back to back until the deadline -> (latencies, failures)."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def client_loop(index: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            n = index
            while time.perf_counter() < deadline:
                body = {"kind": "sudoku", "puzzle": texts[n % len(texts)]}
                start = time.perf_counter()
                try:
                    response = http.post("/v1/solve", json=body)
                    outcome = None if response.status_code == 200 else str(response.status_code)
                except httpx.HTTPError as err:
                    outcome = type(err).__name__
                with lock:
                    latencies.append(time.perf_counter() - start)
                    if outcome:
                        failures.append(outcome)
                n += clients

    with ThreadPoolExecutor(clients) as threads:
        list(threads.map(client_loop, range(clients)))
    return latencies, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start one in-process)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds")
    parser.add_argument("--views", type=int, default=8, help="in-process server's views")
    parser.add_argument("--threads", type=int, default=1, help="in-process torch threads")
    parser.add_argument("--puzzles", type=int, default=256, help="distinct puzzles to cycle")
    args = parser.parse_args()

    texts = sudoku_texts(args.puzzles, seed=11)
    if args.url:
        server = nullcontext(args.url)
    else:
        torch.set_num_threads(args.threads)
        pool = SolverPool(device="auto", views=args.views)
        server = running(create_app(pool, ServerSettings(api_key=None, timeout_s=120)))
    with server as url, httpx.Client(base_url=url, timeout=120) as http:
        assert http.post("/v1/solve", json={"kind": "sudoku", "puzzle": texts[0]}).is_success
        puzzles_before, batches_before = batch_totals(http)
        start = time.perf_counter()
        latencies, failures = hammer(url, texts, args.clients, args.duration)
        elapsed = time.perf_counter() - start
        puzzles, batches = batch_totals(http)

    ok = len(latencies) - len(failures)
    cuts = statistics.quantiles(latencies, n=100)
    mean_batch = (puzzles - puzzles_before) / max(1.0, batches - batches_before)
    print(f"clients {args.clients}, {elapsed:.1f} s, views {args.views}")
    print(f"requests {len(latencies)}, ok {ok}, dropped {len(failures)} {sorted(set(failures))}")
    print(f"throughput {ok / elapsed:.2f} requests/s")
    print(f"latency p50 {cuts[49]:.3f} s, p95 {cuts[94]:.3f} s, max {max(latencies):.3f} s")
    print(f"mean solver batch {mean_batch:.1f} puzzles")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
