"""The config file: `[tool.conformance]` in ./pyproject.toml, or ./conformance.toml.

Its options become the `run` command's defaults, so that any option given on the command line wins. Precedence
of options that exclude each other (`endpoint-url` and `target`): the command line overrides the file (the file's
one is dropped); both in the same source conflict (exit 2 naming both).
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

CONFIG_FILES = ("conformance.toml", "pyproject.toml")
EXCLUSIVE = ("endpoint_url", "target")  # (dests) options of which one source may set only one


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
    if all(found.get(dest) is not None for dest in EXCLUSIVE):
        raise ConfigFileError(f"{path}: endpoint-url and target exclude each other: set one")
    return found


def settle_exclusive(args: argparse.Namespace) -> None:
    """Of `endpoint-url` and `target`, drop the file's when the command line gave the other (the command line wins).

    Both on the command line argparse refuses, both in the file `defaults` does: so when both are set here, exactly
    one came from the file."""
    from_file = getattr(args, "config_values", None) or {}
    if all(getattr(args, dest, None) is not None for dest in EXCLUSIVE):
        for dest in EXCLUSIVE:
            if dest in from_file:
                setattr(args, dest, None)


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
            values = defaults(run, *found)
            # config_file: named in the run's header; config_values: which options the file set (`settle_exclusive`)
            run.set_defaults(**values, config_file=found[0], config_values=values)
    except ConfigFileError as exc:
        run.set_defaults(config_error=str(exc))
