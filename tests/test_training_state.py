"""Crash-safe training state: the resume snapshot, checkpoint and card are replaced whole or not
at all. A training run killed with SIGKILL at random moments (most of them inside its
snapshots) resumes each time with its step counter never going back, a full disk while saving
keeps the previous files and says why, and the committed resume states of the long runs load
into freshly built models and optimizers."""

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from trm_tool import checkpoint, trainer
from trm_tool.checkpoint import SaveError
from trm_tool.model import TRM, TRMConfig
from trm_tool.pretrain import PretrainConfig
from trm_tool.train import TrainConfig
from trm_tool.trainer import Counters, TrainState

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ["sudoku_deep", "maze_wide", "arc_fit"]

# A maze run small enough to snapshot (evaluate 2 mazes, write resume state, checkpoint and
# card) every step, so most of its time is spent inside snapshots.
RUN = [
    *("--kind", "maze", "--tiers", "small", "--mixer", "conv", "--hidden", "16"),
    *("--heads", "2", "--expansion", "1", "--n-latent-steps", "1", "--n-improve-steps", "1"),
    *("--max-supervision-steps", "2", "--batch-size", "4", "--warmup-steps", "5"),
    *("--time-budget", "10h", "--max-steps", "1000000", "--eval-every", "0s"),
    *("--eval-size", "2", "--device", "cpu", "--no-compile"),
]


def tiny_state(seed: int = 0) -> TrainState:
    torch.manual_seed(seed)
    model = TRM(
        TRMConfig(
            vocab_size=6, hidden=16, n_heads=2, mixer="conv", n_puzzles=3, puzzle_prefix_len=1
        )
    )
    return TrainState.create(model, 1e-3, 1e-2, 0.1, 0.99)


def trained_state(steps: int) -> TrainState:
    """A state with AdamW moments and an EMA that differs from the weights."""
    state = tiny_state()
    tokens = torch.randint(1, 6, (4, 5, 5))
    for _ in range(steps):
        trainer.deep_supervision(
            state.model, state.optimizer, tokens, tokens, torch.tensor([0, 1, 2, 0]), 1
        )
        state.counters.step += 1
        state.ema.update(state.model, state.counters.step)
    return state


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_resume_snapshot_restores_weights_ema_moments_and_counters(tmp_path):
    state = trained_state(3)
    state.counters = Counters(step=3, examples=12, elapsed_s=1.5)
    state.save(tmp_path / "resume.safetensors")
    fresh = tiny_state(seed=1)
    fresh.load(tmp_path / "resume.safetensors")
    assert fresh.counters == state.counters
    assert json.loads((tmp_path / "resume.json").read_text())["step"] == 3
    for name, value in state.model.state_dict().items():
        assert torch.equal(fresh.model.state_dict()[name], value), name
    for name, value in state.ema.state_dict().items():
        assert torch.equal(fresh.ema.state_dict()[name], value), name
    for old, new in zip(state.optimized(), fresh.optimized()):
        assert torch.equal(
            state.optimizer.state[old]["exp_avg"], fresh.optimizer.state[new]["exp_avg"]
        )
    # the counters live in the snapshot itself: a stale JSON beside it (a kill between the two
    # renames) cannot pair new weights with old counters
    (tmp_path / "resume.json").write_text(json.dumps({"step": 1, "examples": 0, "elapsed_s": 0}))
    fresh.load(tmp_path / "resume.safetensors")
    assert fresh.counters.step == 3


def test_a_full_disk_while_saving_keeps_the_previous_state_and_says_why(tmp_path, monkeypatch):
    state = trained_state(2)
    state.save(tmp_path / "resume.safetensors")
    weights = tmp_path / "maze.safetensors"
    card = checkpoint.ModelCard(kind="maze", config=state.model.config)
    checkpoint.save(state.ema_model(), weights, card)
    before = files_of(tmp_path)

    def disk_fills_up(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\0" * 100)  # part of the file made it
        raise OSError(errno.ENOSPC, "No space left on device")

    later = trained_state(4)
    monkeypatch.setattr(trainer, "save_file", disk_fills_up)
    with pytest.raises(SaveError, match="No space left on device.*previous version is kept"):
        later.save(tmp_path / "resume.safetensors")
    monkeypatch.setattr(checkpoint, "save_file", disk_fills_up)
    with pytest.raises(SaveError, match="maze.safetensors"):
        checkpoint.save(later.ema_model(), weights, card)
    monkeypatch.undo()

    def fsync_fails(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync_fails)
    with pytest.raises(SaveError):
        checkpoint.save(later.ema_model(), weights, card)
    monkeypatch.undo()

    assert files_of(tmp_path) == before  # no temporary file left, nothing replaced
    restored = tiny_state(seed=1)
    restored.load(tmp_path / "resume.safetensors")
    assert restored.counters.step == state.counters.step
    checkpoint.load(weights)


class Killed(BaseException):
    """Stands for a SIGKILL at one exact point of a save."""


def test_a_save_cut_off_between_its_two_renames_loads_as_the_new_checkpoint(tmp_path, monkeypatch):
    weights = tmp_path / "maze.safetensors"
    card = checkpoint.ModelCard(kind="maze", config=tiny_state().model.config)
    checkpoint.save(trained_state(1).ema_model(), weights, card)
    rename = os.replace
    renames = []

    def killed_at_the_second_rename(source, target):
        renames.append(target)
        if len(renames) == 2:
            raise Killed
        rename(source, target)

    monkeypatch.setattr(os, "replace", killed_at_the_second_rename)
    new = trained_state(3).ema_model()
    with pytest.raises(Killed):
        checkpoint.save(new, weights, card)
    monkeypatch.undo()
    assert (tmp_path / "maze.json.tmp").is_file()  # new weights in place, their card beside
    model, _ = checkpoint.load(weights)
    assert torch.equal(model.lm_head.weight, new.lm_head.weight)

    def killed_while_writing(tensors, filename, metadata=None):
        raise Killed

    # the next save first puts the cut-off save's card in place, so a crash of its own leaves
    # the previous checkpoint whole
    monkeypatch.setattr(checkpoint, "save_file", killed_while_writing)
    with pytest.raises(Killed):
        checkpoint.save(trained_state(5).ema_model(), weights, card)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maze.json", "maze.safetensors"]
    assert checkpoint.load_card(weights).sha256 == checkpoint.sha256_of(weights)


def start_run(out: Path, resume: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "trm_tool.train", *RUN, "--out", str(out)]
    if resume:
        args += ["--resume", str(out / "resume.safetensors")]
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def step_of_resume_state(out: Path) -> int:
    """Load the resume state into a freshly built model and optimizer; its step."""
    card = checkpoint.load_card(out / "maze.safetensors")
    state = TrainState.create(TRM(card.config), 1e-3, 1e-2, 0.1, 0.999)
    state.load(out / "resume.safetensors")
    return state.counters.step


def kill_and_resume(out: Path, kills: int, seed: int) -> tuple[list[int], int]:
    """Start the run, SIGKILL it at a random moment once it has saved, check what it left,
    resume; `kills` times. Returns the step of the state left after each kill, and how many
    kills landed inside a write (they left a temporary file behind)."""
    rng = random.Random(seed)
    steps: list[int] = []
    inside_a_write = 0
    for attempt in range(kills):
        run = start_run(out, resume=attempt > 0)
        deadline = time.monotonic() + 120
        saved = out / "resume.json"
        baseline = saved.stat().st_mtime_ns if saved.exists() else 0
        while not (saved.exists() and saved.stat().st_mtime_ns != baseline):
            assert run.poll() is None, "the training run stopped by itself"
            assert time.monotonic() < deadline, "no snapshot within 120 s"
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 1.5))  # a few snapshots later, at a random point of one
        run.send_signal(signal.SIGKILL)
        run.wait()
        inside_a_write += any(out.glob("*.tmp"))
        step = step_of_resume_state(out)
        checkpoint.load(out / "maze.safetensors")  # weights match their card
        assert not steps or step >= steps[-1], f"step went back: {steps} then {step}"
        steps.append(step)
    for line in (out / "metrics.jsonl").read_text().splitlines()[:-1]:
        json.loads(line)  # every line a full row, but perhaps the one cut by the last kill
    return steps, inside_a_write


def test_a_run_killed_at_random_moments_resumes_each_time(tmp_path):
    steps, _ = kill_and_resume(tmp_path, kills=3, seed=0)
    assert steps[-1] > steps[0]


@pytest.mark.slow
def test_a_run_killed_twenty_times_resumes_each_time(tmp_path):
    steps, inside_a_write = kill_and_resume(tmp_path, kills=20, seed=1)
    print(f"20 kills, {inside_a_write} inside a write; steps {steps}")
    assert steps[-1] > steps[0]


@pytest.mark.parametrize("run", COMMITTED)
def test_committed_resume_states_load_into_fresh_models(run):
    folder = ROOT / "training" / run
    if not (folder / "resume.safetensors").is_file():
        pytest.skip(f"training/{run} has no committed resume state in this checkout")
    (weights,) = [p for p in folder.glob("*.safetensors") if p.name != "resume.safetensors"]
    card = checkpoint.load_card(weights)
    settings = card.training["config"]
    if card.training["command"].startswith("python -m trm_tool.pretrain"):
        config = PretrainConfig.model_validate(settings | {"model": card.config})
    else:
        config = TrainConfig.model_validate(settings)  # older cards say puzzle_lr
    assert config.embedding_lr == settings.get("embedding_lr", settings.get("puzzle_lr"))
    state = TrainState.create(
        TRM(card.config), config.lr, config.embedding_lr, config.weight_decay, config.ema_decay
    )
    state.load(folder / "resume.safetensors")
    assert state.counters.step > 0
    moments = [state.optimizer.state.get(p, {}) for p in state.optimized()]
    assert all("exp_avg" in m and "exp_avg_sq" in m for m in moments)
    assert all(float(m["step"]) == state.counters.step for m in moments)
