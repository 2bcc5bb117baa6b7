"""The package's architecture holds: its import-linter contracts (pyproject.toml) are kept, and they do fail when a
lower layer imports a higher one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def _lint(folder: Path) -> subprocess.CompletedProcess[str]:
    """import-linter over the `conformance` package found first from `folder`, with the contracts of its
    pyproject.toml; no cache written."""
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache"], cwd=folder, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"})


def test_every_contract_is_kept() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "KEPT" in result.stdout


@pytest.mark.parametrize(("where", "imports", "contract"), [
    ("wire/upward.py", "conformance.engine.runner", "Each layer of the package imports only the layers below it"),
    ("judging/upward.py", "conformance.generation.strategies", "Each layer of the package"),
    ("engine/stray.py", None, "The engine's modules are layered"),  # a module no layer names (exhaustive)
    ("stray.py", None, "Each layer of the package"),
    ("reference/protocols_upward.py", "conformance.judging.oracle", "never the suite's"),
])
def test_a_module_that_breaks_the_layering_fails_the_contract(tmp_path: Path, where: str, imports: str | None,
                                                              contract: str) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "conformance", copy / "conformance", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    module = copy / "conformance" / where
    module.write_text(f'"""A module in the wrong place."""\n\nimport {imports}  # noqa: F401\n' if imports else
                      '"""A module no contract places."""\n')
    result = _lint(copy)
    assert result.returncode == 1, result.stdout
    broken = result.stdout[result.stdout.index("Broken contracts"):] if "Broken contracts" in result.stdout else ""
    assert contract in broken, result.stdout
