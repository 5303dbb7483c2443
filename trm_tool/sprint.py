"""A GPU sprint: the most useful work one lent GPU can do in a few minutes, prepared ahead.

    python -m trm_tool.sprint --device cuda --minutes 9 --out $OUT    (scripts/gpu_sprint.sh)

Phases, each in a process of its own with its own time box, so that a crash or a hang in one
is recorded in the report and the others still run:

    checks   the CUDA paths: fp32 and bf16-autocast predictions against the CPU's, a bf16
             train step, torch.compile, the solver's verified answers (Sudoku, maze)
    bench    per kind: tool-call latency, and puzzles/s over a sweep of batch sizes
    arc      ARC pretraining resumed from training/arc_fit at a GPU-sized batch
    sudoku   Sudoku training from the shipped checkpoint (its card's tiers), GPU-sized batch
    maze     the same for mazes

checks and bench run first, one after the other, so their timings are the GPU's alone; the
three training phases then share the GPU and the rest of the minutes (our networks are too small
to fill an H100 one at a time), each fed by worker processes on its share of the cores
(feed.py). Out: report.json and one <phase>.tar per training phase (checkpoint + card, resume
state, metrics), as the device tool brings back at most 8 files of at most 16 MiB.

The ARC run restarts its learning-rate cosine over the sprint's minutes (a warm restart; the
resume state keeps its moments), and the resume state it writes carries the run's whole
elapsed time, so a CPU session can resume it as it resumes its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

# Only the standard library at the top: the orchestrator must write its report even where
# torch or a package is missing; each phase imports what it needs in its own process.

ROOT = Path(__file__).resolve().parents[1]
FIRST = {"checks": 0.08, "bench": 0.14}
"""Phases run one after the other, with their share of the minutes."""
TRAINING = ("arc", "sudoku", "maze")
"""Phases run side by side on the rest of the minutes."""
RESERVE_S = 20.0
"""Kept back for packing and the report."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m trm_tool.sprint", description=__doc__)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--minutes", type=float, default=9.0)
    parser.add_argument("--out", required=True, help="report.json and <phase>.tar go here")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        run_phase(args.phase, args.device, args.seconds, Path(args.work))
    else:
        report = sprint(args.device, args.minutes, Path(args.out))
        print(json.dumps(report["summary"], indent=1))


def sprint(device: str, minutes: float, out: Path) -> dict:
    """Run every phase within `minutes`; write report.json and the tars to `out`."""
    start = time.time()
    end = start + 60 * minutes - RESERVE_S
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="trm-sprint-"))
    phases: dict[str, dict] = {}
    for name, share in FIRST.items():
        phases[name] = wait(launch(name, device, share * 60 * minutes, work), work, device)
    seconds = max(0.0, end - time.time())
    running = [launch(name, device, seconds, work) for name in TRAINING]
    for phase in running:
        phases[phase.name] = wait(phase, work, device)
    for name in TRAINING:
        folder = work / name
        if folder.is_dir() and any(folder.iterdir()):
            with tarfile.open(out / f"{name}.tar", "w") as tar:
                tar.add(folder, arcname=name)
            phases[name]["tar"] = f"{name}.tar"
    report = {
        "device": device,
        "minutes_asked": minutes,
        "wall_s": round(time.time() - start, 1),
        "phases": phases,
    }
    report["summary"] = summary(report)
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    shutil.rmtree(work)
    return report


@dataclass
class Running:
    """A phase's process, when it started and its time box."""

    name: str
    process: subprocess.Popen
    started: float
    seconds: float


def launch(name: str, device: str, seconds: float, work: Path) -> Running:
    """Start one phase in its own process; its result lands in work/<name>.json."""
    command = [sys.executable, "-m", "trm_tool.sprint", "--out", str(work), "--phase", name]
    command += ["--device", device, "--seconds", f"{seconds:.1f}", "--work", str(work)]
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    with open(work / f"{name}.log", "w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=os.environ | {"PYTHONPATH": path}, stdout=log, stderr=log
        )
    print(f"[sprint] {name}: started, {seconds:.0f} s", flush=True)
    return Running(name, process, time.time(), seconds)


def grace_s(device: str) -> float:
    """How far past its box a phase may run before it is killed: its start-up and final save
    (minutes on a busy CPU, where the rehearsal gives phases seconds)."""
    return 30.0 if device == "cuda" else 900.0


def wait(phase: Running, work: Path, device: str) -> dict:
    """The phase's result, or why there is none (killed past its box, or it failed)."""
    limit = phase.started + phase.seconds + grace_s(device) - time.time()
    try:
        phase.process.wait(timeout=max(0.0, limit))
    except subprocess.TimeoutExpired:
        phase.process.kill()
        phase.process.wait()
    result_file = work / f"{phase.name}.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    result["wall_s"] = round(time.time() - phase.started, 1)
    if phase.process.returncode != 0 or not result_file.is_file():
        result["error"] = result.get("error") or f"exit code {phase.process.returncode}"
    if "error" in result:
        result["log_tail"] = (work / f"{phase.name}.log").read_text(errors="replace")[-3000:]
    state = "failed" if "error" in result else "done"
    print(f"[sprint] {phase.name}: {state} in {result['wall_s']} s", flush=True)
    return result


def summary(report: dict) -> dict:
    """The few figures a reader wants first."""
    phases = report["phases"]
    lines = {
        name: ("FAILED: " + phase["error"]) if "error" in phase else "ok"
        for name, phase in phases.items()
    }
    return {"device": report["device"], "wall_s": report["wall_s"], "phases": lines}


def run_phase(name: str, device: str, seconds: float, work: Path) -> None:
    """Inside a phase's process: run it, write work/<name>.json (an error is a result too)."""
    from . import sprint_phases

    end = time.time() + seconds
    if name in TRAINING:  # side by side, next to their puzzle workers: one thread each
        import torch

        torch.set_num_threads(1)
        torch.set_float32_matmul_precision("high")  # TF32 where the GPU has it
    try:
        result = sprint_phases.PHASES[name](device, end, work)
    except Exception as err:
        result = {"error": repr(err), "traceback": traceback.format_exc()[-3000:]}
    (work / f"{name}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
