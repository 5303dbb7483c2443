"""Dynamic batching: calls from many threads merged into few batched runs.

A worker thread takes whatever requests are waiting, up to `max_batch`, after at most
`wait_s`, and hands each group of requests that may run together to `run`, so N concurrent
calls cost about one batched run. It knows nothing about what it batches."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Request(Generic[Item, Result]):
    item: Item
    done: threading.Event = field(default_factory=threading.Event)
    result: Result | None = None
    error: BaseException | None = None


class BatchQueue(Generic[Item, Result]):
    """`submit` blocks until the worker has run the item, batched with others of the same
    `key`, through `run` (a list of items -> their results, in order)."""

    def __init__(
        self,
        run: Callable[[list[Item]], list[Result]],
        key: Callable[[Item], Hashable],
        max_batch: int = 64,
        wait_s: float = 0.005,
    ):
        self.run, self.key, self.max_batch, self.wait_s = run, key, max_batch, wait_s
        self.batch_sizes: list[int] = []
        """Sizes of the batches the worker took (for metrics)."""
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()

    def submit(self, item: Item) -> Result:
        """The item's result; an error raised by `run` for this item is raised here (the
        worker lives on, and the other items of its batch are run again on their own)."""
        request = _Request(item)
        self._ensure_worker()
        self._queue.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.result

    def _ensure_worker(self) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, daemon=True)
                self._worker.start()

    def _serve(self) -> None:
        while True:
            batch = self._take()
            self.batch_sizes.append(len(batch))
            try:
                groups: dict[Hashable, list[_Request]] = {}
                for request in batch:
                    groups.setdefault(self.key(request.item), []).append(request)
            except Exception:  # a key that fails: run each request on its own
                groups = {index: [request] for index, request in enumerate(batch)}
            for group in groups.values():
                self._answer(group)

    def _answer(self, group: list[_Request]) -> None:
        """Runs a group; if the batched run fails, runs each request alone, so one bad item
        fails only its own caller and the others in its batch are still answered."""
        try:
            results = self.run([r.item for r in group])
            if len(results) != len(group):
                raise RuntimeError(f"run gave {len(results)} results for {len(group)} items")
        except Exception as err:
            if len(group) > 1:
                for request in group:
                    self._answer([request])
                return
            results, error = [None], err
        else:
            error = None
        for request, result in zip(group, results):
            request.result, request.error = result, error
            request.done.set()

    def _take(self) -> list[_Request]:
        """The next request, and whatever else arrives within `wait_s`, up to `max_batch`."""
        batch = [self._queue.get()]
        until = time.perf_counter() + self.wait_s
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get(timeout=max(0.0, until - time.perf_counter())))
            except queue.Empty:
                break
        return batch
