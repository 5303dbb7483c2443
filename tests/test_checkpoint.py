"""Checkpoints: bit-exact round trip, hash check, refusing corrupted files."""

import pytest
import torch

from trm_tool import checkpoint
from trm_tool.model import TRM, TRMConfig


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = TRM(TRMConfig(vocab_size=6, hidden=32, n_heads=2, n_latent_steps=2))
    card = checkpoint.ModelCard(kind="maze", config=model.config, training={"steps": 1})
    path = tmp_path / "maze.safetensors"
    checkpoint.save(model, path, card)
    return model, path


def test_round_trip_is_bit_exact(saved):
    model, path = saved
    loaded, card = checkpoint.load(path)
    assert card.kind == "maze" and card.parameters == sum(p.numel() for p in model.parameters())
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name
    assert card.config == model.config


def test_bf16_checkpoint_loads_as_float32(saved, tmp_path):
    model, _ = saved
    path = tmp_path / "small.safetensors"
    checkpoint.save(
        model, path, checkpoint.ModelCard(kind="maze", config=model.config), torch.bfloat16
    )
    loaded, card = checkpoint.load(path)
    assert card.dtype == "bfloat16"
    weight = loaded.lm_head.weight
    assert weight.dtype == torch.float32
    assert torch.equal(weight, model.lm_head.weight.bfloat16().float())


def test_changed_weights_are_refused(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(checkpoint.CheckpointError, match="sha256"):
        checkpoint.load(path)


def test_corrupted_file_with_matching_hash_is_refused(saved):
    _, path = saved
    path.write_bytes(b"not a safetensors file")
    card = checkpoint.load_card(path)
    checkpoint.save_card(path, card.model_copy(update={"sha256": checkpoint.sha256_of(path)}))
    with pytest.raises(checkpoint.CheckpointError, match="not a readable safetensors"):
        checkpoint.load(path)


def test_missing_card_and_missing_file_are_clear(saved, tmp_path):
    _, path = saved
    path.with_suffix(".json").unlink()
    with pytest.raises(checkpoint.CheckpointError, match="card .* is missing"):
        checkpoint.load(path)
    with pytest.raises(checkpoint.CheckpointError, match="does not exist"):
        checkpoint.load(tmp_path / "nothing.safetensors")


def test_unknown_shipped_kind_names_what_is_shipped():
    with pytest.raises(checkpoint.CheckpointError, match="no shipped checkpoint for 'chess'"):
        checkpoint.shipped("chess")


def test_a_directory_resolves_to_its_kind_checkpoint(saved, tmp_path):
    _, path = saved
    assert checkpoint.resolve("maze", tmp_path) == path
    assert checkpoint.resolve("maze", path) == path
    assert checkpoint.resolve("sudoku", None) == checkpoint.shipped("sudoku")
    with pytest.raises(checkpoint.CheckpointError, match="no sudoku.safetensors; it holds: maze"):
        checkpoint.resolve("sudoku", tmp_path)


def test_cards_without_an_encoding_are_our_own(saved):
    _, path = saved
    card = checkpoint.load_card(path)
    assert card.encoding == "trm-tool" and card.source is None
    assert checkpoint.load_card(checkpoint.shipped("sudoku")).encoding == "trm-tool"
