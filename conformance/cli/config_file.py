"""The config file: `[tool.conformance]` in ./pyproject.toml, or ./conformance.toml.

Its options become the `run` command's defaults, so that any option given on the command line wins.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

CONFIG_FILES = ("conformance.toml", "pyproject.toml")


class ConfigFileError(ValueError):
    """The config file cannot be read, or names an option `conformance run` does not have."""


def find(folder: Path) -> tuple[Path, dict[str, Any]] | None:
    """The config file in `folder` and its raw run options, or None when there is none."""
    for name in CONFIG_FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigFileError(f"{path}: cannot read it: {exc}") from None
        if name == "pyproject.toml":
            section = document.get("tool", {}).get("conformance")
            if section is None:  # a pyproject.toml without the section configures nothing
                continue
            if not isinstance(section, dict):
                raise ConfigFileError(f"{path}: [tool.conformance] must be a table")
            return path, section
        return path, document
    return None


def defaults(parser: argparse.ArgumentParser, path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """The file's options as `parser` defaults (by dest), each parsed and checked as on the command line."""
    actions = {action.dest: action for action in parser._actions if action.option_strings and action.dest != "help"}
    found: dict[str, Any] = {}
    for key, value in options.items():
        action = actions.get(key.replace("-", "_"))
        if action is None:
            known = ", ".join(sorted(dest.replace("_", "-") for dest in actions))
            raise ConfigFileError(f"{path}: unknown key {key!r} (known: {known})")
        if isinstance(action, argparse._StoreTrueAction):
            if not isinstance(value, bool):
                raise ConfigFileError(f"{path}: {key} must be true or false")
            found[action.dest] = value
        elif isinstance(action, argparse._AppendAction):
            items = value if isinstance(value, list) else [value]
            found[action.dest] = [_value(action, path, key, item) for item in items]
        else:
            found[action.dest] = _value(action, path, key, value)
    return found


def _value(action: argparse.Action, path: Path, key: str, value: object) -> Any:
    """One value as the option's own type and choices take it from the command line."""
    if isinstance(value, (bool, dict, list)) or value is None:
        raise ConfigFileError(f"{path}: {key} must be a string or a number")
    try:
        parsed = action.type(str(value)) if callable(action.type) else str(value)
    except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
        raise ConfigFileError(f"{path}: {key} = {value!r}: {exc}") from None
    if action.choices is not None and parsed not in action.choices:
        raise ConfigFileError(f"{path}: {key} = {value!r}: not one of {', '.join(map(str, action.choices))}")
    return parsed


def apply_defaults(run: argparse.ArgumentParser) -> None:
    """Make the config file's options (if any) the run command's defaults; a bad file is reported by the run."""
    try:
        found = find(Path.cwd())
        if found is not None:
            run.set_defaults(**defaults(run, *found))
    except ConfigFileError as exc:
        run.set_defaults(config_error=str(exc))
