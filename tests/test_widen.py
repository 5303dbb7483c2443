"""Widening a TRM keeps its function and lets the new channels learn."""

from itertools import islice

import pytest
import torch

from trm_tool.checkpoint import load, resolve
from trm_tool.model import TRM, TRMConfig
from trm_tool.trainer import resolve_device
from trm_tool.widen import widen


def logits_of(model, tokens, steps):
    """Answer and halting logits of the first `steps` supervision steps (no early halting)."""
    model.eval()
    with torch.no_grad():
        return [(s.logits, s.halt_logit) for s in islice(model.steps(tokens), steps)]


@pytest.mark.parametrize("mixer", ["mlp_t", "conv"])
def test_a_widened_network_computes_what_it_did(mixer):
    torch.manual_seed(0)
    config = TRMConfig(
        vocab_size=11,
        hidden=32,
        n_heads=4,
        expansion=3.0,
        mixer=mixer,
        grid_shape=(9, 9) if mixer == "mlp_t" else None,
        n_latent_steps=2,
        n_improve_steps=2,
        max_supervision_steps=4,
    )
    narrow = TRM(config)
    for parameter in narrow.parameters():  # trained weights are not at their init (zeros)
        parameter.data += 0.05 * torch.randn_like(parameter)
    tokens = torch.randint(0, 11, (3, 9, 9))
    wide = widen(narrow, 48)
    assert wide.config.hidden == 48
    # one supervision step: random weights make the recursion chaotic, so float rounding grows
    # ~10x a step after it; the shipped network below is checked over all its steps
    [(a, halt_a)], [(b, halt_b)] = logits_of(narrow, tokens, 1), logits_of(wide, tokens, 1)
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
    assert torch.allclose(halt_a, halt_b, atol=1e-4)


def test_the_shipped_sudoku_network_widens_to_the_same_answers():
    narrow, _ = load(resolve("sudoku", None), resolve_device("cpu"))
    wide = widen(narrow, 192)
    tokens = torch.randint(1, 11, (4, 9, 9))
    narrow_out, wide_out = logits_of(narrow, tokens, 8), logits_of(wide, tokens, 8)
    for (a, _), (b, _) in zip(narrow_out, wide_out):
        assert torch.equal(a.argmax(-1), b.argmax(-1))
        assert (a - b).abs().max() < 1e-2


def test_the_new_channels_learn():
    torch.manual_seed(1)
    config = TRMConfig(vocab_size=6, hidden=16, n_heads=2, mixer="conv", max_supervision_steps=2)
    wide = widen(TRM(config), 32)
    down = wide.net.blocks[0].mlp.down.weight
    assert down[16:].abs().max() == 0
    tokens = torch.randint(0, 6, (2, 5, 5))
    x = wide.embed_question(tokens)
    answer, latent = wide.initial_state(x)
    out = wide.supervision_step(x, answer, latent, wide.layout(5, 5, "cpu"))
    torch.nn.functional.cross_entropy(out.logits.flatten(0, 1), tokens.flatten() % 6).backward()
    assert down.grad[16:].abs().max() > 0


def test_attention_networks_are_refused():
    with pytest.raises(ValueError, match="can be widened"):
        widen(TRM(TRMConfig(vocab_size=6, hidden=16, n_heads=2)), 32)
