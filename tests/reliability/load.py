"""Load for `trm-tool serve`: bursts, open-loop soak at a fixed rate, hang-ups, and the
server process's resources (RSS, open descriptors, threads) read from /proc."""

from __future__ import annotations

import os
import random
import socket
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlparse

import httpx

from .fuzz import valid_texts

BAD_BODIES = (
    {"kind": "sudoku", "puzzle": "1 2 3"},
    {"kind": "maze", "puzzle": "S####"},
    {"kind": "chess", "puzzle": "e4"},
    {"puzzle": 7},
)


def mixed_body(rng: random.Random, bad_share: float = 0.1) -> dict:
    """A Sudoku, a maze or (bad_share of the time) a bad request."""
    if rng.random() < bad_share:
        return rng.choice(BAD_BODIES)
    kind = rng.choice(("sudoku", "maze"))
    return {"kind": kind, "puzzle": rng.choice(valid_texts(kind))}


@dataclass
class Outcome:
    status: int | str
    """HTTP status, or the name of the transport error (a reset connection, a timeout)."""
    seconds: float
    retry_after: str | None = None


def post(client: httpx.Client, body: dict) -> Outcome:
    start = time.perf_counter()
    try:
        response = client.post("/v1/solve", json=body)
    except httpx.TransportError as err:
        return Outcome(type(err).__name__, time.perf_counter() - start)
    seconds = time.perf_counter() - start
    return Outcome(response.status_code, seconds, response.headers.get("retry-after"))


def burst(url: str, count: int, seed: int = 0) -> list[Outcome]:
    """`count` requests sent at once (each its own connection), answers in order."""
    rng = random.Random(seed)
    bodies = [mixed_body(rng, bad_share=0) for _ in range(count)]
    limits = httpx.Limits(max_connections=count + 4)
    with httpx.Client(base_url=url, timeout=300, limits=limits) as client:
        start = threading.Barrier(count)

        def send(body: dict) -> Outcome:
            start.wait()
            return post(client, body)

        with ThreadPoolExecutor(count) as threads:
            return list(threads.map(send, bodies))


def hang_up(url: str, body: bytes) -> None:
    """Send a whole request, then close the connection without reading the answer."""
    address = urlparse(url)
    with socket.create_connection((address.hostname, address.port)) as sock:
        head = (
            f"POST /v1/solve HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)


def in_flight(url: str) -> int:
    return httpx.get(f"{url}/healthz", timeout=10).json()["in_flight"]


def wait_idle(url: str, timeout: float = 300) -> float:
    """Seconds until the server has no solve in flight."""
    start = time.monotonic()
    while in_flight(url):
        if time.monotonic() - start > timeout:
            raise TimeoutError("solves still in flight")
        time.sleep(0.1)
    return time.monotonic() - start


def resources(pid: int) -> dict[str, int]:
    """RSS (KiB), open file descriptors and threads of a process, from /proc."""
    status = dict(
        line.split(":", 1)
        for line in open(f"/proc/{pid}/status").read().splitlines()
        if ":" in line
    )
    return {
        "rss_kib": int(status["VmRSS"].split()[0]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(status["Threads"]),
    }


@dataclass
class Phase:
    """Outcomes of one stretch of load."""

    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        counts = Counter(o.status for o in self.outcomes)
        ok = sorted(o.seconds for o in self.outcomes if o.status == 200)
        total = len(self.outcomes) or 1
        p50 = statistics.median(ok) if ok else float("nan")
        p99 = ok[min(len(ok) - 1, int(0.99 * len(ok)))] if ok else float("nan")
        return (
            f"{self.name}: {len(self.outcomes)} requests in {self.seconds:.0f} s; "
            f"statuses {dict(sorted(counts.items(), key=str))}; 503 share "
            f"{counts[503] / total:.1%}; 200 latency p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms"
        )


def closed_loop(url: str, seconds: float, clients: int, seed: int, name: str) -> Phase:
    """`clients` threads each sending the next request as soon as the last is answered."""
    phase, lock, until = Phase(name), threading.Lock(), time.monotonic() + seconds

    def client_loop(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        with httpx.Client(base_url=url, timeout=300) as client:
            while time.monotonic() < until:
                outcome = post(client, mixed_body(rng, bad_share=0))
                with lock:
                    phase.outcomes.append(outcome)

    start = time.monotonic()
    with ThreadPoolExecutor(clients) as threads:
        list(threads.map(client_loop, range(clients)))
    phase.seconds = time.monotonic() - start
    return phase


def open_loop(url: str, seconds: float, rate: float, seed: int, name: str) -> Phase:
    """Requests arriving at `rate` per second whether or not earlier ones were answered (as
    many users would), mixed Sudoku, maze and bad requests."""
    phase, lock, rng = Phase(name), threading.Lock(), random.Random(seed)
    limits = httpx.Limits(max_connections=256)
    start = time.monotonic()
    with (
        httpx.Client(base_url=url, timeout=300, limits=limits) as client,
        ThreadPoolExecutor(128) as threads,
    ):

        def send(body: dict) -> None:
            outcome = post(client, body)
            with lock:
                phase.outcomes.append(outcome)

        sent = 0
        while (now := time.monotonic() - start) < seconds:
            while sent < now * rate:
                threads.submit(send, mixed_body(rng))
                sent += 1
            time.sleep(0.01)
    phase.seconds = time.monotonic() - start
    return phase
