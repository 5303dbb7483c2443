"""The search's values: a per-call SearchPolicy and a Deadline that owns the clock."""

import time

import pytest

from trm_tool.solver import Deadline, SearchPolicy


def test_a_call_changes_only_the_options_it_gives():
    default = SearchPolicy(views=8, retry_views=8, max_steps=None, max_seconds=2.0)
    assert default.but() == default
    changed = default.but(views=2, max_seconds=0)
    assert (changed.views, changed.retry_views, changed.max_seconds) == (2, 8, 0)
    assert default.views == 8, "a policy is a value: the default stays as it was"
    assert default.but(max_steps=0).max_steps is None  # 0 steps: the network's own
    assert default.but(retry_views=0).retry_views == 0  # 0 retries: none
    with pytest.raises(ValueError):
        default.but(views=0)
    with pytest.raises(ValueError):
        SearchPolicy(max_seconds=-1)


def test_calls_that_may_share_a_batch_differ_at_most_in_their_budget():
    policy = SearchPolicy(views=4)
    assert policy.batch_key() == policy.but(max_seconds=9).batch_key()
    assert policy.batch_key() != policy.but(views=5).batch_key()
    assert policy.batch_key() != policy.but(max_steps=3).batch_key()


def test_no_deadline_never_runs_out():
    never = Deadline.after(0)
    assert never == Deadline() and never.at is None
    assert never.remaining() == float("inf")
    assert not never.expired() and never.fits(1e9)
    assert never.share(0.5) == never


def test_a_deadline_runs_out_and_says_what_still_fits():
    start = time.perf_counter()
    deadline = Deadline.after(10, start)
    assert deadline.at == start + 10
    assert 9 < deadline.remaining() <= 10
    assert not deadline.expired() and deadline.fits(5) and not deadline.fits(11)
    past = Deadline.after(1, start - 2)
    assert past.expired() and not past.fits(0) and past.remaining() < 0


def test_a_share_of_the_time_left_and_the_earliest_of_several():
    deadline = Deadline.after(10)
    half = deadline.share(0.5)
    assert 4 < half.remaining() <= 5
    soon, late = Deadline.after(1), Deadline.after(100)
    assert Deadline.earliest([late, Deadline(), soon]) == soon
    assert Deadline.earliest([Deadline(), Deadline()]) == Deadline()
