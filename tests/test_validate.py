"""evals/validate.py: per-family validation sets apart from the held-out tiers, a real run with
the left-out families marked (tiers not trained on, styles a run left out), and the table
recorded in a card."""

import re
import shutil

from evals import validate
from evals.families import FAMILIES, tier_family
from trm_tool import train
from trm_tool.checkpoint import load_card, shipped
from trm_tool.data import held_out
from trm_tool.puzzles import get_kind


def test_validation_families_are_fixed_and_apart_from_the_held_out_set():
    kind = get_kind("sudoku")
    family = tier_family("sudoku", "singles")
    first = family.draw(5, 12345)
    assert [p.grid for p, _ in first] == [p.grid for p, _ in family.draw(5, 12345)]
    held = {kind.canonical_key(p.grid) for p, _ in held_out(kind, "singles", 5)}
    assert not held & {kind.canonical_key(p.grid) for p, _ in first}


def test_every_kind_lists_families_made_by_others_as_never_trained_on():
    for make in FAMILIES.values():
        families = make()
        assert len({f.name for f in families}) == len(families)
        assert any(not f.trained_by for f in families)


def test_the_shipped_sudoku_model_marks_left_out_families_and_records_them(capsys, tmp_path):
    weights = tmp_path / "sudoku.safetensors"
    shutil.copy(shipped("sudoku"), weights)
    shutil.copy(shipped("sudoku").with_suffix(".json"), tmp_path / "sudoku.json")
    argv = ["--kind", "sudoku", "--families", "singles,hard", "--n", "4", "--views", "8"]
    argv += ["--max-steps", "8"]
    validate.main([*argv, "--checkpoints", str(weights), "--record"])
    out = capsys.readouterr().out
    singles = re.search(r"^singles\s+(\d+)%(\*?)", out, re.M)
    hard = re.search(r"^hard\s+(\d+)%(\*?)", out, re.M)
    assert int(singles.group(1)) >= 75 and singles.group(2) == "*", out  # not in its last run
    assert hard.group(2) == "", out  # hard was in the mix
    assert "worst family of" in out
    rows = {row.split: row for row in load_card(weights).families}
    assert set(rows) == {"singles", "hard"} and rows["hard"].extra["in_training_mix"]
    assert not rows["singles"].extra["in_training_mix"] and "--record" not in rows["hard"].command
    assert rows["hard"].extra["max_steps"] == 8


def test_a_run_that_leaves_a_maze_style_out_gets_that_family_marked(capsys, tmp_path):
    """`train --leave-out braided` writes the family into the card; validation then marks
    braided mazes as never trained on, and the other styles of the same tiers as trained on."""
    train.main(
        ["--kind", "maze", "--tiers", "small", "--mixer", "conv", "--hidden", "16",
         "--heads", "2", "--batch-size", "4", "--max-steps", "2", "--eval-size", "2",
         "--leave-out", "braided", "--out", str(tmp_path)]
    )  # fmt: skip
    assert load_card(tmp_path / "maze.safetensors").training["config"]["leave_out"] == ["braided"]
    capsys.readouterr()
    validate.main(
        ["--kind", "maze", "--families", "braided/small,perfect/small", "--n", "2",
         "--checkpoints", str(tmp_path / "maze.safetensors")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert re.search(r"^braided/small\s+\d+%\*", out, re.M), out
    assert re.search(r"^perfect/small\s+\d+% ", out, re.M), out
    assert "families left out ['braided']" in out
