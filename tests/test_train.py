"""The training loop learns: a tiny TRM masters a toy grid task within a minute on CPU."""

import json

import torch
from toykind import MirrorRecolour

from trm_tool import checkpoint
from trm_tool.data import held_out
from trm_tool.model import TRMConfig
from trm_tool.train import TrainConfig, evaluate, train


def test_tiny_trm_learns_mirror_recolour_to_99_percent(tmp_path):
    torch.set_num_threads(1)
    kind = MirrorRecolour()
    config = TrainConfig(
        kind="toy",
        model=TRMConfig(
            vocab_size=kind.vocab_size,
            hidden=64,
            n_heads=4,
            n_latent_steps=2,
            n_improve_steps=2,
            max_supervision_steps=4,
        ),
        batch_size=64,
        lr=3e-3,
        warmup_steps=20,
        ema_decay=0.99,
        max_steps=700,
        time_budget_s=600,
        eval_every_s=1e9,
        eval_size=200,
        out=str(tmp_path),
    )
    path = train(config, kind=kind)
    model, card = checkpoint.load(path)
    assert card.held_out[0].exact >= 0.99
    # the saved model, re-evaluated independently, agrees with its card
    assert evaluate(model, kind, ["4x4"], 200, torch.device("cpu"))["4x4"]["exact"] >= 0.99
    assert len(held_out(kind, "4x4", 200)) == 200
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any("samples_per_s" in row for row in rows) and "eval" in rows[-1]
    assert (tmp_path / "resume.safetensors").is_file()
