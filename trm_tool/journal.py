"""A bench journal: one JSON line per finished task, so a run of hours (all 400 ARC tasks at a
test-time fit each) survives being stopped and resumes where it stopped.

The first line names the run (model, tier, budget); outcomes of another run are never mixed in:
a journal written for another run is refused rather than silently reused.
"""

from __future__ import annotations

import json
from pathlib import Path

from .puzzles.base import PuzzleError


def read_journal(path: Path, run: dict) -> dict[str, dict]:
    """The outcomes already in the journal at `path`, by task id (none if it does not exist yet;
    then it is started with `run` as its first line)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(run) + "\n")
        return {}
    lines = path.read_text().splitlines()
    try:
        header, outcomes = json.loads(lines[0]), [json.loads(line) for line in lines[1:] if line]
    except (IndexError, json.JSONDecodeError) as err:
        raise PuzzleError(
            f"{path} is not a bench journal (expected JSON lines, the run first): {err}"
        ) from None
    if header != run:
        raise PuzzleError(
            f"{path} was written for another run ({header}); this run is {run}. "
            "Use a new journal file, or the same model, tier and --max-seconds."
        )
    return {outcome["task_id"]: outcome for outcome in outcomes}


def append_outcome(path: Path, outcome: dict) -> None:
    """Add one finished task (flushed at once: a stop loses at most the tasks in flight)."""
    with open(path, "a") as f:
        f.write(json.dumps(outcome) + "\n")
