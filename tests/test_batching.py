"""The dynamic-batching queue on its own: concurrent items merged by key, errors returned."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from trm_tool.solver.batching import BatchQueue


def test_concurrent_items_run_together_by_key_and_each_gets_its_own_result():
    runs = []

    def run(items):
        runs.append(list(items))
        return [item * 10 for item in items]

    queue = BatchQueue(run, key=lambda item: item % 2, wait_s=0.2)
    start = threading.Barrier(8)

    def submit(item):
        start.wait()
        return queue.submit(item)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(submit, range(8)))
    assert results == [item * 10 for item in range(8)]
    assert all(len({item % 2 for item in items}) == 1 for items in runs), runs
    assert max(queue.batch_sizes) > 1 and sum(queue.batch_sizes) == 8


def test_an_error_reaches_every_caller_of_its_group_and_the_worker_lives_on():
    def run(items):
        if "bad" in items:
            raise ValueError("bad item")
        return [item.upper() for item in items]

    queue = BatchQueue(run, key=lambda item: None)
    with pytest.raises(ValueError, match="bad item"):
        queue.submit("bad")
    assert queue.submit("good") == "GOOD"
