"""Checkpoints of the official TRM code: import, reproduce its outputs, refuse bad files.

The fixtures (../shared/fixtures/official_trm, README there) were made with the official code
at commit e7b68717: a checkpoint exactly as official training saves it, its config, a batch of
inputs and the official model's outputs at every supervision step.
"""

import json
import random
from pathlib import Path

import pytest
import torch

from trm_tool import checkpoint, load_solver, official_tokens, official_weights, precision
from trm_tool.checkpoint import CheckpointError
from trm_tool.cli import main
from trm_tool.encodings import kind_for
from trm_tool.model import TRM, TRMConfig
from trm_tool.puzzles import get_kind

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "official_trm"
NAMES = ["sudoku_mlp", "sudoku_mlp_pe16", "maze_att", "arc_att"]
KINDS = {"sudoku_mlp": "sudoku", "sudoku_mlp_pe16": "sudoku", "maze_att": "maze", "arc_att": "arc"}

needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(),
    reason=f"the official-TRM fixtures are not here ({FIXTURES}): they live in the shared "
    "workspace next to the checkout, not in the repository",
)


@pytest.fixture
def fp32(monkeypatch):
    """The solver in fp32, as the fixtures' expected predictions were made: their weights are
    random, so many logits are near ties that bf16 autocast (on CPUs that have it) would flip."""
    monkeypatch.setattr(precision, "fast_bf16", lambda device: False)


def fixture(name: str) -> tuple[Path, dict, dict]:
    directory = FIXTURES / name
    inputs = json.loads((directory / "inputs.json").read_text())
    expected = json.loads((directory / "expected.json").read_text())
    return directory, inputs, expected


def imported(name: str, config=None) -> TRM:
    directory = FIXTURES / name
    ours, state = checkpoint.import_official(directory / "checkpoint.pt", config)
    model = TRM(ours)
    model.load_state_dict(state, strict=True)
    return model.eval()


def batch(model: TRM, inputs: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
    side = model.config.grid_shape[0]
    tokens = torch.tensor(inputs["inputs"]).view(-1, side, side)
    ids = torch.tensor(inputs["puzzle_identifiers"]) if model.config.n_puzzles else None
    return tokens, ids


def close(ours: torch.Tensor, official: list, atol: float) -> bool:
    return torch.allclose(ours.double(), torch.tensor(official, dtype=torch.float64), atol=atol)


@needs_fixtures
@pytest.mark.parametrize("name", NAMES)
def test_imported_model_reproduces_every_official_step(name):
    directory, inputs, expected = fixture(name)
    model = imported(name, directory / "config.json")
    tokens, ids = batch(model, inputs)
    steps = expected["steps_log"]
    assert model.config.max_supervision_steps == len(steps) == expected["num_steps"]
    with torch.no_grad():
        x = model.embed_question(tokens, ids)
        answer, latent = model.initial_state(x)
        layout = model.layout(*tokens.shape[1:], "cpu")
        for step in steps:
            answer, latent, logits, halt, _ = model.supervision_step(x, answer, latent, layout)
            q = model.halt_head(answer[:, 0])
            at = f"{name} step {step['step']}"
            assert close(logits[0], step["logits_ex0"], 1e-5), at
            assert close(logits.double().sum((1, 2)), step["logits_sum"], 1e-4), at
            assert torch.equal(logits.argmax(-1), torch.tensor(step["preds"])), at
            assert close(halt, step["q_halt_logits"], 1e-5), at
            assert close(q[:, 1], step["q_continue_logits"], 1e-5), at
            assert close(answer[0, 0], step["z_H_ex0_pos0"], 1e-5), at
            assert close(latent[0, 0], step["z_L_ex0_pos0"], 1e-5), at
            # official evaluation halts a row only when its step budget is spent; official
            # ACT (no_ACT_continue) also halts it when q_halt > 0, as our early halting does
            last = step["step"] == model.config.max_supervision_steps
            assert step["halted"] == [last] * len(tokens), at
            ours = model.should_halt(halt, torch.full((len(tokens),), step["step"]))
            act = [last or q > 0 for q in step["q_halt_logits"]]
            assert ours.tolist() == act, at


@needs_fixtures
@pytest.mark.parametrize("name", NAMES)
def test_predict_answers_as_the_official_step_it_stops_at(name):
    """Official inference runs every step; ours may halt early (halt logit > 0), and the
    answer of a step that is run is the official answer of that step."""
    _, inputs, expected = fixture(name)
    model = imported(name)
    tokens, ids = batch(model, inputs)
    steps = expected["steps_log"]
    for k, step in enumerate(steps, start=1):
        every = model.predict(tokens, ids, max_steps=k, early_halting=False)
        assert torch.equal(every.tokens.flatten(1), torch.tensor(step["preds"]))
        assert every.steps.tolist() == [k] * len(tokens)
    early = model.predict(tokens, ids)
    for row in range(len(tokens)):
        halts = [k for k, s in enumerate(steps, 1) if s["q_halt_logits"][row] > 0]
        stop = min(halts + [len(steps)])
        assert int(early.steps[row]) == stop
        assert early.tokens[row].flatten().tolist() == steps[stop - 1]["preds"][row]


@needs_fixtures
@pytest.mark.parametrize("name", NAMES)
def test_config_is_found_next_to_the_checkpoint_or_given(name):
    """Without a config, the run's all_config.yaml and dataset.json next to the file are read;
    the safetensors copy imports to the same weights."""
    directory = FIXTURES / name
    given, state = checkpoint.import_official(
        directory / "checkpoint.pt", directory / "config.json"
    )
    found, _ = checkpoint.import_official(directory / "checkpoint.pt")
    assert found == given
    from_safetensors, same = checkpoint.import_official(
        directory / "weights.safetensors", directory / "config.json"
    )
    assert from_safetensors == given
    assert all(torch.equal(state[k], same[k]) for k in state) and state.keys() == same.keys()


@needs_fixtures
def test_config_is_inferred_from_shapes_and_the_recipe(tmp_path):
    """A bare file: the shapes give width, layers, vocabulary, mixer and puzzle table; the
    rest comes from the official recipe of the kind, and the import says so."""
    source = FIXTURES / "sudoku_mlp_pe16" / "checkpoint.pt"
    bare = tmp_path / "step_100"
    bare.write_bytes(source.read_bytes())
    ours, _, config, assumed = official_weights.import_checkpoint(bare)
    assert (ours.hidden, ours.n_blocks, ours.mixer, ours.grid_shape) == (64, 1, "mlp_t", (9, 9))
    assert (ours.n_puzzles, ours.puzzle_prefix_len, ours.puzzle_embed_dim) == (1, 16, 64)
    assert (ours.n_improve_steps, ours.n_latent_steps, ours.max_supervision_steps) == (3, 6, 16)
    assert config.seq_len == 81
    assert {"H_cycles", "L_cycles", "halt_max_steps", "num_heads"} <= set(assumed)
    assert "hidden_size" not in assumed and "seq_len" not in assumed


# ---------------------------------------------------------------- bad files


def official_state(name: str = "maze_att") -> dict[str, torch.Tensor]:
    return torch.load(FIXTURES / name / "checkpoint.pt", weights_only=True)


def save_state(tmp_path: Path, state: dict) -> Path:
    path = tmp_path / "step_1"
    torch.save(state, path)
    return path


@needs_fixtures
def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "step_1"
    path.write_bytes((FIXTURES / "maze_att" / "checkpoint.pt").read_bytes()[:100_000])
    with pytest.raises(CheckpointError, match="not a complete PyTorch checkpoint"):
        checkpoint.import_official(path, kind="maze")


class Payload:
    """Unpickling this runs code: it creates the file `marker`."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@needs_fixtures
def test_pickle_with_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code_ran"
    state = {**official_state(), "extra": Payload(marker)}
    path = tmp_path / "step_1"
    with open(path, "wb") as f:
        torch.save(state, f)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="Python objects other than tensors"):
        checkpoint.import_official(path, kind="maze")
    assert not marker.exists()


@needs_fixtures
def test_wrong_shape_missing_and_unknown_keys_are_named(tmp_path):
    state = official_state()
    prefix = "_orig_mod.model.inner."
    state[prefix + "lm_head.weight"] = torch.zeros(6, 32)
    del state[prefix + "q_head.bias"]
    state[prefix + "L_level.layers.0.self_attn.k_norm.weight"] = torch.zeros(64)
    config = FIXTURES / "maze_att" / "config.json"
    with pytest.raises(CheckpointError) as err:
        checkpoint.import_official(save_state(tmp_path, state), config)
    message = str(err.value)
    assert "lm_head.weight has shape [6, 32], the config needs [6, 64]" in message
    assert "missing key q_head.bias" in message
    assert "unexpected key L_level.layers.0.self_attn.k_norm.weight" in message


@needs_fixtures
def test_not_a_state_dict_and_wrong_kind_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not a dict of tensors"):
        checkpoint.import_official(save_state(tmp_path, {"step": 3}), kind="maze")
    with pytest.raises(CheckpointError, match="official maze vocabulary .* not sudoku"):
        checkpoint.import_official(FIXTURES / "maze_att" / "checkpoint.pt", kind="sudoku")
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.import_official(tmp_path / "nothing.pt")


@needs_fixtures
def test_settings_our_model_does_not_compute_are_refused():
    config = json.loads((FIXTURES / "maze_att" / "config.json").read_text())
    with pytest.raises(CheckpointError, match="no_ACT_continue is False"):
        checkpoint.import_official(
            FIXTURES / "maze_att" / "checkpoint.pt", {**config, "no_ACT_continue": False}
        )


# ---------------------------------------------------------------- official token encodings


def test_official_sudoku_and_maze_ids_are_ours():
    line = "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"
    sudoku = get_kind("sudoku")
    assert torch.equal(official_tokens.sudoku_tokens(line), sudoku.encode(sudoku.parse(line).grid))
    rows = ["#####", "#S  #", "# # #", "#  G#", "#####"]
    maze = get_kind("maze")
    tokens = official_tokens.maze_tokens("".join(rows))
    assert torch.equal(tokens, maze.encode(maze.parse("\n".join(rows)).grid))
    assert tokens[1].tolist() == [1, 3, 2, 2, 1]  # wall, start, open, open, wall


@needs_fixtures
def test_official_arc_canvas_round_trips_the_fixture_inputs():
    """The fixture's inputs are official ARC canvases (5x5): reading the grid back and
    encoding it again gives the same tokens (end-of-grid row and column, corner padding)."""
    _, inputs, _ = fixture("arc_att")
    for flat in inputs["inputs"]:
        tokens = torch.tensor(flat).view(5, 5)
        grid = official_tokens.arc_grid(tokens)
        assert torch.equal(official_tokens.arc_tokens(grid, side=5), tokens)
    first = official_tokens.arc_grid(torch.tensor(inputs["inputs"][0]).view(5, 5))
    assert (len(first), len(first[0])) == (3, 4)


def test_official_arc_translation_keeps_the_grid_and_marks():
    grid = [[1, 2], [3, 4], [5, 6]]
    rng = random.Random(0)
    for _ in range(20):
        top, left = official_tokens.arc_translation(rng, [grid, [[0] * 4]], side=6)
        assert 0 <= top <= 3 and 0 <= left <= 2
        tokens = official_tokens.arc_tokens(grid, 6, (top, left))
        assert tokens[top : top + 3, left : left + 2].tolist() == [[3, 4], [5, 6], [7, 8]]
        if top + 3 < 6:
            assert tokens[top + 3, left : left + 2].tolist() == [1, 1]
        assert int((tokens == 1).sum()) == (2 if top + 3 < 6 else 0) + (3 if left + 2 < 6 else 0)
    with pytest.raises(Exception, match="does not fit"):
        official_tokens.arc_tokens(grid, 6, (4, 0))


def test_the_card_encoding_picks_the_kind_a_model_is_fed_through():
    """Official Sudoku and maze ids are ours, so those kinds are used as they are; an official
    ARC model gets the official canvas, our ARC models our own encoding."""
    config = TRMConfig(vocab_size=12, grid_shape=(6, 6))
    for name in ("sudoku", "maze", "arc"):
        assert kind_for(get_kind(name), "trm-tool", config) is get_kind(name)
    for name in ("sudoku", "maze"):
        assert kind_for(get_kind(name), "official", config) is get_kind(name)
    arc = kind_for(get_kind("arc"), "official", config)
    grid = [[1, 2], [3, 4], [5, 6]]
    assert torch.equal(arc.encode(grid), official_tokens.arc_tokens(grid, 6))
    assert arc.decode(arc.encode(grid)) == grid and arc.name == "arc"


# ---------------------------------------------------------------- the command and the solver


def import_dir(name: str, tmp_path: Path) -> Path:
    out = tmp_path / name
    args = ["import-official", str(FIXTURES / name / "checkpoint.pt"), "--kind", KINDS[name]]
    assert main([*args, "--out", str(out)]) == 0
    return out


@needs_fixtures
def test_import_command_writes_weights_and_card(tmp_path, capsys):
    out = import_dir("sudoku_mlp", tmp_path)
    assert "wrote" in capsys.readouterr().out
    model, card = checkpoint.load(out / "sudoku.safetensors")
    source = FIXTURES / "sudoku_mlp" / "checkpoint.pt"
    assert card.encoding == "official" and card.source.sha256 == checkpoint.sha256_of(source)
    assert card.source.official_config["hidden_size"] == 64
    assert "e7b68717" in card.source.code and card.source.assumed == []
    again = ["import-official", str(source), "--kind", "sudoku", "--out", str(out)]
    assert main(again) == 2
    assert "already exists" in capsys.readouterr().err


@needs_fixtures
@pytest.mark.parametrize("name", ["sudoku_mlp", "sudoku_mlp_pe16"])
def test_load_solver_runs_an_imported_sudoku_model(name, tmp_path, fp32):
    """With or without the official one-row puzzle table (shared by every puzzle)."""
    out = import_dir(name, tmp_path)
    solver = load_solver("sudoku", checkpoint=out, device="cpu", views=1, retry_views=0)
    text = "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"
    result = solver.solve(text)
    puzzle = solver.kind.parse(text)
    row = torch.zeros(1, dtype=torch.long)
    direct = solver.model.predict(solver.kind.encode(puzzle.grid)[None], row)
    assert result.grid == solver.kind.decode(direct.tokens[0])
    assert result.steps == int(direct.steps[0]) and result.verified is False  # random weights


@needs_fixtures
def test_load_solver_pads_small_mazes_into_the_official_canvas(tmp_path, fp32):
    """The official maze model reads its whole canvas (6x6 here): a 5x5 maze is padded with
    walls and its answer cropped back."""
    _, inputs, expected = fixture("maze_att")
    solver = load_solver("maze", checkpoint=import_dir("maze_att", tmp_path), device="cpu")
    grids = [solver.kind.decode(torch.tensor(flat).view(6, 6)) for flat in inputs["inputs"]]
    tokens = [p[0] for p in solver.predict(grids, None, early_halting=False)]
    last = expected["steps_log"][-1]["preds"]
    assert [t.flatten().tolist() for t in tokens] == last
    small = solver.solve("#####\n#S  #\n# # #\n#  G#\n#####")
    assert len(small.grid) == 5 and all(len(row) == 5 for row in small.grid)


@needs_fixtures
def test_load_solver_feeds_official_arc_models_the_official_canvas(tmp_path, fp32):
    _, inputs, expected = fixture("arc_att")
    out = import_dir("arc_att", tmp_path)
    solver = load_solver("arc", checkpoint=out, device="cpu")
    canvases = [torch.tensor(flat).view(5, 5) for flat in inputs["inputs"]]
    grids = [official_tokens.arc_grid(c) for c in canvases]
    assert all(torch.equal(solver.kind.encode(g), c) for g, c in zip(grids, canvases))
    ids = inputs["puzzle_identifiers"]
    tokens = [p[0] for p in solver.predict(grids, None, ids, early_halting=False)]
    assert [t.flatten().tolist() for t in tokens] == expected["steps_log"][-1]["preds"]
    assert solver.kind.decode(tokens[0]) == official_tokens.arc_grid(tokens[0])


@needs_fixtures
def test_imported_model_answers_through_the_tool_and_the_server(tmp_path):
    from fastapi.testclient import TestClient

    from trm_tool.server import ServerSettings, create_app
    from trm_tool.tool import SolverPool, trm_tools

    out = import_dir("sudoku_mlp", tmp_path)
    pool = SolverPool({"sudoku": str(out)}, "cpu", views=1, retry_views=0)
    text = "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"
    expected = pool.get("sudoku").solve(text).grid
    tool = next(t for t in trm_tools(pool) if t.name == "solve_sudoku")
    call = {"type": "tool_call", "id": "1", "name": tool.name, "args": {"puzzle": text}}
    assert tool.invoke(call).artifact.grid == expected
    client = TestClient(create_app(pool, ServerSettings(api_key=None)))
    response = client.post("/v1/solve", json={"kind": "sudoku", "puzzle": text})
    assert response.status_code == 200 and response.json()["grid"] == expected
