"""The TRM itself: shapes, paper sizes, where gradients flow, per-example halting."""

import pytest
import torch

from trm_tool.model import (
    EDGE_SLOTS,
    EMA,
    TRM,
    TRMConfig,
    arc_paper_config,
    count_parameters,
    edge_distances,
    maze_paper_config,
    rotary_1d,
    stablemax_cross_entropy,
    sudoku_paper_config,
    token_loss,
)


def tiny(mixer: str = "attention", **overrides) -> TRM:
    grid_shape = (5, 5) if mixer == "mlp_t" else None
    config = TRMConfig(
        vocab_size=7,
        hidden=32,
        n_heads=2,
        mixer=mixer,
        grid_shape=grid_shape,
        n_latent_steps=2,
        n_improve_steps=3,
        max_supervision_steps=6,
        **overrides,
    )
    torch.manual_seed(0)
    return TRM(config)


@pytest.mark.parametrize("mixer", ["attention", "mlp_t", "conv"])
def test_supervision_step_shapes_and_dtypes(mixer):
    model = tiny(mixer)
    tokens = torch.randint(1, 7, (3, 5, 5))
    x = model.embed_question(tokens)
    answer, latent = model.initial_state(x)
    layout = model.layout(5, 5, tokens.device)
    answer, latent, logits, halt, _ = model.supervision_step(x, answer, latent, layout)
    assert answer.shape == latent.shape == (3, 25, 32)
    assert logits.shape == (3, 25, 7) and logits.dtype == torch.float32
    assert halt.shape == (3,)
    assert not answer.requires_grad and not latent.requires_grad
    assert logits.requires_grad and halt.requires_grad


@pytest.mark.parametrize("mixer", ["attention", "conv"])
def test_size_generic_mixers_serve_any_grid_size(mixer):
    model = tiny(mixer)
    for shape in [(2, 3), (9, 9), (13, 7)]:
        prediction = model.predict(torch.randint(1, 7, (2, *shape)), max_steps=2)
        assert prediction.tokens.shape == (2, *shape)


def test_conv_mixer_reaches_one_cell_further_per_block_plus_the_grid_mean():
    model = tiny("conv")
    mixer = model.net.blocks[0].mixer
    layout = model.layout(6, 6, "cpu")
    x = torch.randn(1, 36, 32)
    nudged = x.clone()
    nudged[0, 0] += 1.0  # cell (0, 0)
    change = (mixer(nudged, layout) - mixer(x, layout)).norm(dim=-1).view(6, 6)
    mean_only = change[5, 5]  # far away: only the grid mean moved
    assert mean_only > 0
    assert (change[:2, :2] > mean_only + 1e-4).all()  # the 3x3 neighbourhood of (0, 0)
    assert torch.allclose(change[2:, 2:], mean_only.expand(4, 4), atol=1e-5)


def test_conv_mixer_leaves_prefix_tokens_to_the_grid_mean():
    model = tiny("conv", n_puzzles=3, puzzle_prefix_len=2)
    prediction = model.predict(torch.randint(1, 7, (2, 4, 5)), torch.tensor([0, 2]), max_steps=2)
    assert prediction.tokens.shape == (2, 4, 5)


def test_puzzle_embeddings_are_prefix_tokens():
    model = tiny("attention", n_puzzles=4, puzzle_prefix_len=2)
    tokens = torch.randint(1, 7, (3, 4, 4))
    x = model.embed_question(tokens, torch.tensor([0, 1, 3]))
    assert x.shape == (3, 2 + 16, 32)
    prediction = model.predict(tokens, torch.tensor([0, 1, 3]), max_steps=2)
    assert prediction.tokens.shape == (3, 4, 4)


@pytest.mark.parametrize(
    ("config", "target"),
    [(sudoku_paper_config(), 5.0e6), (maze_paper_config(), 7.0e6), (arc_paper_config(1), 7.0e6)],
)
def test_paper_configurations_have_paper_sizes(config, target):
    assert abs(count_parameters(TRM(config)) - target) / target < 0.10


def test_gradient_flows_only_through_the_last_improvement_step():
    model = tiny("attention")
    calls = []
    model.net.register_forward_hook(lambda *_: calls.append(torch.is_grad_enabled()))
    tokens = torch.randint(1, 7, (2, 4, 4))
    x = model.embed_question(tokens)
    answer, latent = model.initial_state(x)
    _, _, logits, halt, _ = model.supervision_step(x, answer, latent, model.layout(4, 4, "cpu"))
    per_improvement = model.config.n_latent_steps + 1
    assert calls == [False] * per_improvement * 2 + [True] * per_improvement
    (logits.sum() + halt.sum()).backward()
    assert all(p.grad is not None for p in model.net.parameters())


def test_halting_is_per_example_and_batch_equals_one_by_one():
    model = tiny("attention").eval()
    tokens = torch.randint(1, 7, (8, 4, 4))
    with torch.no_grad():  # make the halting head fire at step 1 for half the examples only
        model.halt_head.weight.normal_(0, 1.0)
        model.halt_head.bias.zero_()
        first = model.predict(tokens, max_steps=1).halt_logit
        model.halt_head.bias.fill_(-first.median().item() + 1e-4)
    together = model.predict(tokens, max_steps=6)
    assert len(set(together.steps.tolist())) > 1, "examples should halt at different steps"
    for i in range(8):
        alone = model.predict(tokens[i : i + 1], max_steps=6)
        assert alone.steps.item() == together.steps[i].item()
        assert torch.equal(alone.tokens[0], together.tokens[i])


def test_steps_run_until_the_caller_stops_each_example():
    """`TRM.steps` yields each step's answers for the examples still running; one the caller
    stops leaves the batch, and the others' answers are what predict gives."""
    model = tiny("attention").eval()
    tokens = torch.randint(1, 7, (3, 4, 5))
    running, answers = [], {}
    for step in model.steps(tokens):
        running.append(step.active.tolist())
        assert step.tokens.shape == (len(step.active), 4, 5)
        answers.update(zip(step.active.tolist(), step.tokens))
        if step.number == 2:
            step.stop(step.active == 1)
        elif step.number == 4:
            step.stop(torch.ones_like(step.active, dtype=torch.bool))
    assert running == [[0, 1, 2], [0, 1, 2], [0, 2], [0, 2]]
    every = model.predict(tokens, max_steps=4, early_halting=False)
    assert all(torch.equal(every.tokens[i], answers[i]) for i in (0, 2))


def test_step_budget_may_exceed_training_budget():
    model = tiny("attention").eval()
    prediction = model.predict(torch.randint(1, 7, (2, 3, 3)), max_steps=40)
    assert prediction.steps.tolist() == [40, 40]  # halting head starts closed (bias -5)
    assert ((prediction.confidence > 0) & (prediction.confidence < 1)).all()


def test_training_halts_with_exploration_but_never_past_the_budget():
    model = tiny("attention", halt_exploration_prob=1.0).train()
    steps = torch.full((1000,), 3)
    halted = model.should_halt(torch.full((1000,), 5.0), steps)
    assert 0 < halted.float().mean() < 1  # some explore on although the head says halt
    assert model.should_halt(torch.full((10,), -5.0), torch.full((10,), 6)).all()


def test_stablemax_cross_entropy_matches_its_definition():
    logits = torch.tensor([[[2.0, -1.0, 0.0]]])
    labels = torch.tensor([[0]])
    s = torch.tensor([3.0, 0.5, 1.0])
    expected = -torch.log(s[0] / s.sum())
    assert torch.allclose(stablemax_cross_entropy(logits, labels)[0, 0], expected)
    ignored = token_loss(logits, torch.tensor([[-100]]), "stablemax")
    assert ignored.item() == 0.0


def test_untrained_mlp_t_keeps_each_cells_own_token_through_the_recursion():
    """With a random init the position mixer blurs every cell into all others within one
    recursion, and training then stalls at uniform digits (measured: loss ln 9 for hundreds of
    steps); the mixer therefore starts at zero, so a cell's token still decides its state."""
    model = tiny("mlp_t")
    tokens = torch.randint(1, 7, (1, 5, 5))
    nudged = tokens.clone()
    nudged[0, 2, 2] = tokens[0, 2, 2] % 6 + 1
    states = []
    for grid in (tokens, nudged):
        x = model.embed_question(grid)
        answer, latent = model.initial_state(x)
        answer, *_ = model.supervision_step(x, answer, latent, model.layout(5, 5, "cpu"))
        states.append(answer)
    change = (states[1] - states[0]).norm(dim=-1).view(5, 5)
    own, others = change[2, 2], change.flatten()[torch.arange(25) != 12].max()
    assert own > 0.5 and others < 0.01 * own


def test_ema_of_a_short_run_follows_the_trained_weights_not_the_init():
    model = tiny()
    ema = EMA(model, decay=0.999)
    init = model.lm_head.weight.detach().clone()
    with torch.no_grad():
        model.lm_head.weight.add_(1.0)
    for step in range(100):
        ema.update(model, step)
    left_of_init = (model.lm_head.weight - ema.shadow["lm_head.weight"]).abs().max()
    assert left_of_init < 1e-3 and not torch.equal(ema.shadow["lm_head.weight"], init)
    assert ema.decay_at(0) == 0.1 and ema.decay_at(10**6) == 0.999


# ---------------------------------------------------------------- official-TRM options


def on_canvas(shape: tuple[int, int], **overrides) -> TRM:
    """tiny() attention with a fixed grid shape (what learned positions and canvases need)."""
    config = TRMConfig(**{**tiny().config.model_dump(), "grid_shape": shape, **overrides})
    torch.manual_seed(0)
    return TRM(config)


def test_rotary_1d_numbers_the_flattened_sequence_as_the_official_code():
    """inv_freq = 1 / theta^(arange(0, d, 2) / d), angles duplicated [f, f]."""
    cos, sin = rotary_1d(7, 8, 10_000.0)
    inv_freq = 1.0 / (10_000.0 ** (torch.arange(0, 8, 2, dtype=torch.float32) / 8))
    angles = torch.outer(torch.arange(7, dtype=torch.float32), inv_freq)
    assert torch.equal(cos, torch.cat([angles, angles], -1).cos())
    assert torch.equal(sin, torch.cat([angles, angles], -1).sin())
    model = tiny("attention", positions="rotary_1d", n_puzzles=2, puzzle_prefix_len=3)
    layout = model.layout(2, 2, "cpu")
    assert layout.rotary[0].shape == (3 + 4, 16)


def test_learned_positions_are_added_then_scaled_and_fix_the_grid():
    model = on_canvas((3, 4), positions="learned")
    tokens = torch.randint(1, 7, (2, 3, 4))
    expected = 0.707106781 * (model.embed(tokens.flatten(1)) + model.position_embed)
    assert torch.allclose(model.embed_question(tokens), expected * 32**0.5)
    with pytest.raises(ValueError, match="reads 3x4 grids only, got 4x3"):
        model.predict(torch.randint(1, 7, (2, 4, 3)))


def test_a_narrow_puzzle_table_is_zero_padded_to_the_prefix():
    model = tiny("attention", n_puzzles=3, puzzle_prefix_len=2, puzzle_embed_dim=20)
    assert model.puzzle_embed.weight.shape == (3, 20)
    with torch.no_grad():
        model.puzzle_embed.weight.normal_()
    tokens = torch.randint(1, 7, (1, 2, 2))
    x = model.embed_question(tokens, torch.tensor([1]))
    row = model.puzzle_embed.weight[1]
    assert torch.equal(x[0, 0, :20], row * 32**0.5) and not x[0, 0, 20:].any()
    assert not x[0, 1].any()  # the second prefix position is all padding


def test_the_official_halting_head_decides_with_its_first_output():
    model = tiny("mlp_t", halt_outputs=2, sequence_norm="positions")
    with torch.no_grad():
        model.halt_head.weight.normal_()
    tokens = torch.randint(1, 7, (3, 5, 5))
    x = model.embed_question(tokens)
    answer, latent = model.initial_state(x)
    answer, _, _, halt, _ = model.supervision_step(x, answer, latent, model.layout(5, 5, "cpu"))
    q = model.halt_head(answer[:, 0])
    assert q.shape == (3, 2) and torch.equal(halt, q[:, 0])


def test_canvas_fill_pads_small_grids_and_crops_the_answer():
    model = on_canvas((5, 5), canvas_fill=1).eval()
    small = torch.randint(2, 7, (2, 3, 4))
    canvas = torch.ones(2, 5, 5, dtype=torch.long)
    canvas[:, :3, :4] = small
    padded = model.predict(canvas, max_steps=2, early_halting=False).tokens
    cropped = model.predict(small, max_steps=2, early_halting=False).tokens
    assert torch.equal(cropped, padded[:, :3, :4])
    with pytest.raises(ValueError, match="grids up to 5x5, got 6x5"):
        model.predict(torch.randint(2, 7, (1, 6, 5)))


def test_edge_distances_measure_from_each_edge_of_the_grid_not_the_canvas():
    tokens = torch.zeros(2, 5, 6, dtype=torch.long)
    tokens[0, :3, :4] = 3  # a 3x4 grid at the top-left of a 5x6 canvas
    tokens[1] = 2  # the whole canvas
    top, left, bottom, right = (edge_distances(tokens) % EDGE_SLOTS).unbind(-1)
    outside = EDGE_SLOTS - 1
    assert top[0, 2, 0] == 2 and left[0, 0, 3] == 3
    assert bottom[0, :3, 0].tolist() == [2, 1, 0] and right[0, 0, :4].tolist() == [3, 2, 1, 0]
    assert (bottom[0, 3:] == outside).all() and (right[0, :, 4:] == outside).all()
    assert bottom[1, :, 0].tolist() == [4, 3, 2, 1, 0] and right[1, 0, 5] == 0
    assert (edge_distances(tokens) // EDGE_SLOTS == torch.arange(4)).all()  # one table per edge


def test_edge_positions_tell_a_cell_from_its_mirror_image():
    """Rotary positions are relative: the two ends of a row look alike to attention. With edge
    positions the first and last cell of a uniform row embed differently, on any grid size."""
    for edges in (False, True):
        model = tiny(edge_positions=edges)
        for width in (3, 7):
            x = model.embed_question(torch.full((1, 1, width), 2))
            assert torch.equal(x[0, 0], x[0, -1]) != edges
