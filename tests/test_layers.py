"""The import contract of pyproject.toml (`lint-imports`): it holds on this tree, and it
fails when a module imports upwards or the library imports the agent."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("trm_tool", "agents", "evals")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_tree(tmp_path: Path) -> Path:
    """The packages' Python files and the contract, without weights or caches."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "checkpoints"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_tree_keeps_the_import_contract():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("trm_tool/model.py", "trm_tool.solver"),  # a lower layer importing a higher one
        ("trm_tool/tool.py", "agents"),  # the library importing the agent
        ("agents/routing.py", "trm_tool.server"),  # the agent importing the server
    ],
)
def test_an_upward_import_breaks_the_contract(tmp_path, module, imported):
    root = copy_tree(tmp_path)
    assert lint_imports(root).returncode == 0  # the copy itself keeps it
    path = root / module
    path.write_text(path.read_text() + f"\nimport {imported}  # noqa: E402\n")
    run = lint_imports(root)
    name = module.removesuffix(".py").replace("/", ".")
    assert run.returncode != 0
    assert f"- {name} -> {imported} " in run.stdout, run.stdout


def test_an_import_cycle_breaks_the_contract(tmp_path):
    """Siblings of one layer may import each other, but not in a circle."""
    root = copy_tree(tmp_path)
    path = root / "trm_tool" / "data.py"
    path.write_text(path.read_text() + "\nimport trm_tool.checkpoint  # noqa: E402\n")
    assert lint_imports(root).returncode == 0  # data -> checkpoint alone is allowed
    path = root / "trm_tool" / "checkpoint.py"
    path.write_text(path.read_text() + "\nimport trm_tool.data  # noqa: E402\n")
    run = lint_imports(root)
    assert run.returncode != 0 and "No cycles are allowed in trm_tool" in run.stdout, run.stdout
