"""Every ```python and ```bash block of README.md and docs/*.md runs as printed.

Each block runs from the repository root in a fresh process: Python blocks with this Python
(the project's .venv), bash blocks under `bash -euo pipefail` with this Python's bin folder
first on PATH (so `trm-tool` and `python` are the project's). A line right before a block,
`<!-- docs-test: WORDS (reason) -->`, changes how it runs:

    skip (reason)  not run: it needs a GPU, an outside server, or runs until stopped
    slow (reason)  runs only in the slow stage (`pytest -m slow`): minutes of CPU, an LLM
    server         a `trm-tool serve` this test starts on 127.0.0.1 answers the block's
                   http://127.0.0.1:8000 (the block is pointed at the server's free port)
    needs PATH     runs only where PATH (relative to the repository root) exists
    continued      the block before it in the same file and language (skipped ones passed
                   over) runs first, in the same process
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGUAGES = ("python", "bash")
MARKER = re.compile(r"^<!--\s*docs-test:\s*(?P<words>[^(]*?)\s*(?:\((?P<reason>.*)\))?\s*-->$")
FENCE = re.compile(r"^```(?P<language>\S*)\s*$")
DOCUMENTED_URL = "127.0.0.1:8000"
FAST_TIMEOUT_S, SLOW_TIMEOUT_S = 300, 1800


@dataclass(frozen=True)
class Block:
    """One fenced code block of a markdown file, with the marker line before it (if any)."""

    path: Path
    line: int
    language: str
    code: str
    words: tuple[str, ...] = ()
    reason: str = ""
    before: Block | None = None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def needs(self) -> Path | None:
        words = list(self.words)
        return ROOT / words[words.index("needs") + 1] if "needs" in words else None

    def program(self) -> str:
        """The code to run: with the block before it first where it is `continued`."""
        code = self.code
        if "continued" in self.words and self.before is not None:
            code = self.before.program() + code
        return code


def blocks_of(path: Path) -> list[Block]:
    """The fenced blocks of a markdown file, in order."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
        previous = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
        marker = MARKER.match(previous)
        words = tuple(marker["words"].split()) if marker else ()
        language = fence["language"]
        ran = [b for b in blocks if b.language == language and "skip" not in b.words]
        before = ran[-1] if ran else None
        code = "\n".join(lines[index + 1 : end]) + "\n"
        reason = (marker["reason"] or "") if marker else ""
        blocks.append(Block(path, index + 1, language, code, words, reason, before))
        index = end + 1
    return blocks


ALL_BLOCKS = [block for path in DOC_FILES for block in blocks_of(path)]
RUNNABLE = [block for block in ALL_BLOCKS if block.language in RUN_LANGUAGES]


def params(block: Block):
    marks = []
    if "skip" in block.words:
        marks.append(pytest.mark.skip(reason=f"{block.name}: {block.reason}"))
    if "slow" in block.words:
        marks.append(pytest.mark.slow)
    return pytest.param(block, id=block.name, marks=marks)


@pytest.fixture(scope="module")
def server_port(tmp_path_factory):
    """A real `trm-tool serve` with the shipped checkpoints on a free 127.0.0.1 port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if key != "TRM_API_KEY"}
    command = [sys.executable, "-m", "trm_tool.cli", "serve", "--port", str(port)]
    log = tmp_path_factory.mktemp("server") / "log.txt"  # a file: a full pipe would block it
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"trm-tool serve did not start: {log.read_text()[-3000:]}")
            time.sleep(0.5)
    yield port
    server.terminate()
    server.wait(timeout=30)


def run(block: Block, port: int | None) -> subprocess.CompletedProcess:
    code = block.program()
    if port is not None:
        code = code.replace(DOCUMENTED_URL, f"127.0.0.1:{port}")
    if block.language == "python":
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", code]
    bin_dir = str(Path(sys.executable).parent)
    env = os.environ | {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    timeout = SLOW_TIMEOUT_S if "slow" in block.words else FAST_TIMEOUT_S
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize("block", [params(block) for block in RUNNABLE])
def test_block_runs_as_printed(block: Block, request):
    needs = block.needs
    if needs is not None and not needs.exists():
        pytest.skip(f"{block.name} needs {needs}, which is not here")
    port = request.getfixturevalue("server_port") if "server" in block.words else None
    result = run(block, port)
    assert result.returncode == 0, (
        f"{block.name} ({block.language}) failed with exit code {result.returncode}:\n"
        f"{block.program()}\n--- stdout ---\n{result.stdout[-3000:]}\n"
        f"--- stderr ---\n{result.stderr[-3000:]}"
    )


def test_every_block_names_its_language_and_every_marker_is_understood():
    """An unlabelled block or a misspelt marker would otherwise go unrun without a word."""
    known = {"skip", "slow", "server", "needs", "continued"}
    for block in ALL_BLOCKS:
        assert block.language, f"{block.name}: a code block needs a language (```python, ...)"
        words = list(block.words)
        if "needs" in words:
            del words[words.index("needs") + 1]  # the path it needs
        unknown = set(words) - known
        assert not unknown, f"{block.name}: unknown docs-test words {sorted(unknown)}"
        if {"skip", "slow"} & set(block.words):
            assert block.reason, f"{block.name}: say why it is skipped or slow, in (...)"
        if block.words:
            assert block.language in RUN_LANGUAGES, f"{block.name}: a marker on a block never run"
    for path in DOC_FILES:
        text = path.read_text()
        markers = [line.strip() for line in text.splitlines() if line.startswith("<!-- docs-test")]
        bad = [line for line in markers if not MARKER.match(line)]
        assert not bad, f"{path.name}: markers not of the form <!-- docs-test: ... -->: {bad}"


def test_the_block_reader_sees_markers_reasons_and_continuations(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "Text.\n\n<!-- docs-test: skip (needs a GPU) -->\n```bash\nnvidia-smi\n```\n\n"
        "```python\nx = 1\n```\n\n<!-- docs-test: skip (an outside server) -->\n```python\n"
        "import outside\n```\n\n<!-- docs-test: continued -->\n```python\nprint(x)\n```\n"
        "\n```json\n{}\n```\n"
    )
    skipped, first, outside, second, data = blocks_of(doc)
    assert skipped.words == ("skip",) and skipped.reason == "needs a GPU" and skipped.line == 4
    assert first.words == () and first.code == "x = 1\n"
    assert outside.reason == "an outside server"
    assert second.program() == "x = 1\nprint(x)\n"  # the skipped block is passed over
    assert data.language == "json"
    assert len(RUNNABLE) >= 10, "the docs lost their examples, or the reader lost the blocks"
