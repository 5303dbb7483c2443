"""An OpenAI-compatible LLM server run as a child process of this one (llama.cpp's, or
vLLM's on a CPU): started on a free port, stopped with every process it started."""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

PARENT_ENV = "TRM_AGENTS_PARENT_PID"
"""Environment variable that tells a server the pid of the process that started it; the
server exits when that process is gone."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ChildServer:
    """An OpenAI-compatible server run as a child process in its own process group.

    Starts on a free port and waits until /v1/models answers; stops (with every process it
    started) on `close()`, on leaving a `with` block, and at interpreter exit. Subclasses say
    how to start it (`command`, `environment`).
    """

    def __init__(
        self, model_name: str, host: str, port: int | None, startup_timeout_s: float
    ) -> None:
        self.model_name, self.host = model_name, host
        self.port = port or free_port(host)
        self.startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile(mode="w+b")
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return {**os.environ, PARENT_ENV: str(os.getpid())}

    def start(self) -> ChildServer:
        """Start the server (no-op if running); RuntimeError with its log if it fails."""
        with self._lock:
            if self.running:
                return self
            self._process = subprocess.Popen(
                self.command(),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.environment(),
                start_new_session=True,
            )
            atexit.register(self.close)
            self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"The LLM server exited on start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        tail = self.log_tail()
        self._stop(self._process)
        self._process = None
        raise RuntimeError(
            f"The LLM server did not answer in {self.startup_timeout_s:.0f} s:\n{tail}"
        )

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - chars))
        return self._log.read().decode("utf-8", "replace")

    def close(self) -> None:
        """Stop the server and its child processes (idempotent)."""
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            self._stop(process)

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
