"""Data-parallel training under torchrun: two CPU processes (gloo) train one model.

Each rank of a distributed `trm_tool.train` prints the sha256 of its weights when it stops;
data parallelism is only right if every rank ends with the same weights (same initial model,
gradients averaged, one learning rate), and those are the weights the resume state holds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from trm_tool import checkpoint
from trm_tool.model import TRM
from trm_tool.train import weights_sha256

ROOT = Path(__file__).resolve().parents[1]
TINY = (
    "--kind sudoku --tiers singles --hidden 32 --heads 2 --expansion 2 --n-latent-steps 1 "
    "--n-improve-steps 1 --max-supervision-steps 2 --batch-size 4 --eval-size 2 --device cpu"
).split()


DIGEST = re.compile(r'\{"rank": (\d+), "weights_sha256": "([0-9a-f]{64})"\}')
"""What each rank prints (on a shared stderr, where a progress bar may share its line)."""


def torchrun(out: Path, *args: str) -> list[str]:
    """Two processes of `trm_tool.train` on this machine; the digest each rank printed."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node", "2", "-m", "trm_tool.train", *TINY, "--out", str(out), *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [digest for _, digest in sorted(DIGEST.findall(done.stderr))]


def resume_state_sha256(out: Path) -> str:
    """The digest of the model weights in a run's resume state (rank 0 wrote it)."""
    model = TRM(checkpoint.load_card(out / "sudoku.safetensors").config)
    tensors = load_file(str(out / "resume.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    return weights_sha256(model)


@pytest.mark.slow
def test_two_processes_end_with_one_model_that_resumes(tmp_path):
    first = torchrun(tmp_path / "a", "--max-steps", "3")
    assert len(first) == 2 and first[0] == first[1], first
    assert resume_state_sha256(tmp_path / "a") == first[0]
    assert json.loads((tmp_path / "a" / "resume.json").read_text())["step"] == 3
    checkpoint.load(tmp_path / "a" / "sudoku.safetensors", "cpu")

    resumed = torchrun(
        tmp_path / "b", "--max-steps", "5", "--resume", str(tmp_path / "a" / "resume.safetensors")
    )
    assert len(resumed) == 2 and resumed[0] == resumed[1], resumed
    assert resumed[0] != first[0], "the resumed run took no step"
    assert json.loads((tmp_path / "b" / "resume.json").read_text())["step"] == 5
    assert resume_state_sha256(tmp_path / "b") == resumed[0]
