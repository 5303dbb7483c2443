"""The inference engine, as a small pipeline (see `facade.py` for the whole path):

policy.py     SearchPolicy (views, retry views, steps, budget) and Deadline values
networks.py   what a puzzle runs on: the shipped network ...
fit_cache.py  ... or a copy fitted to its task (ARC), cached
views.py      test-time views (symmetries), seeded per puzzle
slices.py     rows through a network in slices, one supervision step at a time
vote.py       voting; each distinct answer checked once
search.py     rounds of views within the deadline, then the vote
batching.py   a generic queue + worker merging concurrent calls
facade.py     Solver: parse, get the networks, search (batched across calls)
load.py       load_solver, resolve_device
"""

from .facade import Solver
from .load import load_solver, resolve_device
from .policy import MAX_SECONDS, RETRY_VIEWS, Deadline, SearchPolicy
from .result import Candidate, SolveResult
from .vote import Checks, vote

__all__ = [
    "MAX_SECONDS",
    "RETRY_VIEWS",
    "Candidate",
    "Checks",
    "Deadline",
    "SearchPolicy",
    "SolveResult",
    "Solver",
    "load_solver",
    "resolve_device",
    "vote",
]
