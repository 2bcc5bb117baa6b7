"""The config file against the command line (which wins; one source naming two exclusive options is an error), the
run's header naming the file, `run --help` on config files, and no `.hypothesis/` folder left in the user's folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import build_parser, config_file, main

ROOT = Path(__file__).resolve().parents[1]


def _dead_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}"


@pytest.mark.parametrize("name, text", [("conformance.toml", 'target = "reference"\nendpoint-url = "http://x"\n'),
                                        ("pyproject.toml", '[tool.conformance]\ntarget = "moto"\n'
                                                           'endpoint_url = "http://x"\n')])
def test_both_exclusive_options_in_the_file_exit_2_naming_both(name: str, text: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """One source setting endpoint-url and target is a conflict: exit 2, naming both and the file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "endpoint-url" in err and "target" in err and name in err


@pytest.mark.parametrize("file_text, argv, expected", [
    ('target = "reference"\n', ["--endpoint-url", "http://127.0.0.1:1"], ("http://127.0.0.1:1", None)),
    ('endpoint-url = "http://127.0.0.1:1"\n', ["--target", "moto"], (None, "moto")),
    ('endpoint-url = "http://127.0.0.1:1"\n', [], ("http://127.0.0.1:1", None)),
])
def test_the_command_line_overrides_the_files_exclusive_option(file_text: str, argv: list[str],
                                                               expected: tuple[str | None, str | None],
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's --endpoint-url replaces the file's target, and its --target the file's endpoint-url."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conformance.toml").write_text(file_text, encoding="utf-8")
    args = build_parser().parse_args(["run", *argv])
    config_file.settle_exclusive(args)
    assert (args.endpoint_url, args.target) == expected


def test_a_dead_endpoint_from_the_file_is_used_and_the_header_names_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The file's endpoint-url is the run's target (UNREACHABLE, exit 3), and one header line says which file."""
    monkeypatch.chdir(tmp_path)
    url = _dead_url()
    (tmp_path / "conformance.toml").write_text(f'endpoint-url = "{url}"\n', encoding="utf-8")
    assert main(["run", "--max-examples", "1"]) == 3
    err = capsys.readouterr().err
    assert f"config: {tmp_path / 'conformance.toml'}\n" in err
    assert f"against {url}" in err


def test_run_help_tells_of_config_files(capsys: pytest.CaptureFixture[str]) -> None:
    """`run --help` ends with what config files are read and how they yield to the command line."""
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "conformance.toml" in out and "[tool.conformance]" in out and "overrides" in out


def test_the_cli_leaves_no_hypothesis_folder_in_the_current_directory(tmp_path: Path) -> None:
    """A run in a fresh folder leaves nothing there; Hypothesis's files go to the user's cache."""
    cwd, cache = tmp_path / "work", tmp_path / "cache"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(cache)}
    done = subprocess.run([sys.executable, "-m", "conformance", "run", "--max-examples", "3",
                           "--state-machine-steps", "3", "--operation", "StopPiiEntitiesDetectionJob"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(os.listdir(cwd)) == []
    assert (cache / "conformance" / "hypothesis").is_dir()  # its Unicode tables were written, there
