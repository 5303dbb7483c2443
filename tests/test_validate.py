"""evals/validate.py: a validation set apart from the held-out tiers, and a real run."""

import re

from evals import validate
from trm_tool.data import held_out
from trm_tool.puzzles import get_kind


def test_the_validation_set_is_fixed_and_apart_from_the_held_out_set():
    kind = get_kind("sudoku")
    first = validate.validation_set(kind, "singles", 5)
    assert [p.grid for p, _ in first] == [
        p.grid for p, _ in validate.validation_set(kind, "singles", 5)
    ]
    held = {kind.canonical_key(p.grid) for p, _ in held_out(kind, "singles", 5)}
    assert not held & {kind.canonical_key(p.grid) for p, _ in first}


def test_the_shipped_sudoku_model_on_validation_singles(capsys):
    validate.main(["--kind", "sudoku", "--tiers", "singles", "--n", "4", "--views", "8"])
    out = capsys.readouterr().out
    share = int(re.search(r"singles (\d+)%", out).group(1))
    assert out.startswith("shipped (8 view(s)") and share >= 75, out
