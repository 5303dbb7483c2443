import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from toykind import toy_kind  # noqa: E402

from trm_tool.model import TRMConfig  # noqa: E402
from trm_tool.train import TrainConfig, train  # noqa: E402


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory):
    """A tiny TRM trained for real on the toy kind (about 30 s on one core); shared."""
    torch.set_num_threads(1)
    kind = toy_kind()
    out = tmp_path_factory.mktemp("toy_run")
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
        out=str(out),
    )
    return kind, train(config, kind=kind), out
