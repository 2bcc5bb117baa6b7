"""Mutation testing of the judgement: how many small changes to each rule the tests notice.

Every module named in `benchmarks/mutation.toml` is mutated one change at a time by cosmic-ray's
operators (numbers, comparisons, `and`/`or`, `not`, binary operators, decorators, loops,
exceptions), plus one of ours for string literals (below). Each mutant is run against that
module's tests; it is killed when they fail. The table gives, per module, the mutants generated,
those set aside as equivalent (each with its reason, in the config), those that do not compile,
killed, survived, and the score: killed / (generated - equivalent - not compiling). Survivors are
listed with their line, so that each is a test to write or an equivalence to state.

    pip install -e '.[test,mutation]'
    python benchmarks/bench_mutation.py [--module conformance/judging/oracle.py] [--workers 2] [--list]

It mutates copies of the repository in a temporary folder (one per worker), never this one.
cosmic-ray's module-level and decorated code is reached (unlike mutmut 3, which skips both); we
run the mutants ourselves rather than through `cosmic-ray exec` to run one per core in its own
copy and to set the equivalent ones aside before spending a test run on them.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).resolve().parent / "mutation.toml"
# What no copy needs: history, environments, caches, the JS SDK's packages.
_NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", ".hypothesis", ".pytest_cache",
                                     "node_modules", "*.pyc", ".mypy_cache", ".ruff_cache")


def _string_operator() -> Any:
    """cosmic-ray has no operator for string literals, and a renamed error type or job status is the kind of change
    the judgement must notice: this one changes `"abc"` to `"XXabcXX"` (mutmut's change), docstrings aside."""
    import parso
    from cosmic_ray.operators.operator import Example, Operator

    def is_docstring(node: Any) -> bool:
        scope = parso.tree.search_ancestor(node, "funcdef", "classdef", "file_input")
        return scope is not None and scope.get_doc_node() is node

    class ReplaceStringLiteral(Operator):
        """Changes the text of a string literal (f-strings and docstrings aside)."""

        def mutation_positions(self, node: Any) -> Any:
            if isinstance(node, parso.python.tree.String) and not is_docstring(node):
                yield (node.start_pos, node.end_pos)

        def mutate(self, node: Any, index: int) -> Any:
            value: str = node.value
            quote_at = min(i for i in (value.find("'"), value.find('"')) if i >= 0)
            prefix, body = value[:quote_at], value[quote_at:]
            quote = body[:3] if body[:3] in ('"""', "'''") else body[0]
            inner = body[len(quote):-len(quote)]
            return parso.python.tree.String(f"{prefix}{quote}XX{inner}XX{quote}", node.start_pos, node.prefix)

        @classmethod
        def examples(cls) -> Any:
            return (Example('x = "a"', 'x = "XXaXX"'), Example("x = b''", "x = b'XXXX'"))

    return ReplaceStringLiteral


@dataclass(frozen=True)
class Equivalent:
    """A mutant that changes no behaviour, named by its module, operator, and the line before and after."""

    module: str
    operator: str
    line: str
    mutated: str
    reason: str


@dataclass
class Mutant:
    """One change to one module, and what became of it."""

    module: str
    operator: str
    occurrence: int
    line_number: int
    line: str
    mutated_line: str
    source: str
    outcome: str = "pending"  # killed, survived, timeout, equivalent, invalid
    reason: str = ""


@dataclass
class ModuleConfig:
    """A module to mutate and the tests that pin its rules."""

    path: str
    tests: list[str]
    equivalents: list[Equivalent] = field(default_factory=list)


def load_config(path: Path) -> tuple[list[ModuleConfig], list[str]]:
    """The modules, each with its tests and equivalent mutants, and the operators left out."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    modules = {entry["path"]: ModuleConfig(entry["path"], list(entry["tests"])) for entry in data["module"]}
    for entry in data.get("equivalent", []):
        if entry["module"] not in modules:
            raise SystemExit(f"{path.name}: an equivalent mutant of {entry['module']}, which is not a module listed")
        modules[entry["module"]].equivalents.append(Equivalent(entry["module"], entry["operator"], entry["line"].strip(),
                                                               entry["mutated"].strip(), entry["reason"]))
    return list(modules.values()), list(data.get("settings", {}).get("operators_excluded", []))


@functools.lru_cache(maxsize=None)
def _operators(excluded: tuple[str, ...]) -> list[tuple[str, Any]]:
    """cosmic-ray's core operators that take no arguments, and ours, by name (made once a process: each mutant of a
    worker process looks its operator up here)."""
    import cosmic_ray.plugins

    cosmic_ray.plugins.OPERATOR_PROVIDERS.setdefault("conformance", {"ReplaceStringLiteral": _string_operator()})
    found = []
    for name in cosmic_ray.plugins.operator_names():
        operator_class = cosmic_ray.plugins.get_operator(name)
        if not operator_class.arguments() and not any(name.startswith(prefix) for prefix in excluded):
            found.append((name, operator_class()))
    return found


def mutants_of(module: ModuleConfig, excluded: list[str]) -> list[Mutant]:
    """Every mutant of the module, each with its source and the line it changes (made on every core: cosmic-ray
    parses the module again for each one)."""
    from cosmic_ray.ast import ast_nodes, get_ast

    source = (REPO / module.path).read_text(encoding="utf-8")
    nodes = list(ast_nodes(get_ast(source)))
    work = [(name, occurrence) for name, operator in _operators(tuple(excluded))
            for occurrence in range(sum(1 for node in nodes for _ in operator.mutation_positions(node)))]
    with ProcessPoolExecutor() as pool:
        made = pool.map(_mutant, [(module.path, source, excluded, name, occurrence) for name, occurrence in work],
                        chunksize=16)
        return [mutant for mutant in made if mutant is not None]


def _mutant(job: tuple[str, str, list[str], str, int]) -> Mutant | None:
    """One mutant (in a worker process), or None where the operator changes nothing there."""
    from cosmic_ray.mutating import mutate_code

    path, source, excluded, name, occurrence = job
    operator = dict(_operators(tuple(excluded)))[name]
    mutated = mutate_code(source, operator, occurrence)
    lines = source.splitlines()
    changed = None if mutated is None else _changed_line(lines, mutated.splitlines())
    if mutated is None or changed is None:
        return None
    number, mutated_line = changed
    return Mutant(path, name, occurrence, number, lines[number - 1].strip(), mutated_line.strip(), mutated)


def _changed_line(before: list[str], after: list[str]) -> tuple[int, str] | None:
    """The first line the mutation changed (1-based) and what it became."""
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, _, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            return i1 + 1, "\n".join(after[j1:j2]) or "(removed)"
    return None


def _set_aside(mutants: list[Mutant], module: ModuleConfig) -> list[Equivalent]:
    """Marks the equivalent and the uncompilable mutants; returns the config's entries no mutant matched."""
    used: set[Equivalent] = set()
    for mutant in mutants:
        for equivalent in module.equivalents:
            if (equivalent.operator, equivalent.line, equivalent.mutated) == (mutant.operator, mutant.line,
                                                                            mutant.mutated_line):
                mutant.outcome, mutant.reason = "equivalent", equivalent.reason
                used.add(equivalent)
                break
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # `is` with a literal, which a mutant may well say
                    compile(mutant.source, mutant.module, "exec")
            except (SyntaxError, ValueError) as error:
                mutant.outcome, mutant.reason = "invalid", str(error)
    return [equivalent for equivalent in module.equivalents if equivalent not in used]


class Workspace:
    """A copy of the repository in which one mutant at a time is tested."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copytree(REPO, root, ignore=_NOT_COPIED)
        # Compiled once, so that a test run compiles only the mutated module (whose cache is removed below).
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "conformance")], check=True)

    def command(self, tests: list[str]) -> list[str]:
        """The test command for this copy: the package imported from it, xdist off, stop at the first failure."""
        return [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-o", "addopts=",
                "--rootdir", str(self.root), *(str(self.root / test) for test in tests)]

    def environment(self) -> dict[str, str]:
        """PYTHONPATH first names the copy: the editable install's path comes after it."""
        return {**os.environ, "PYTHONPATH": str(self.root), "PYTHONDONTWRITEBYTECODE": "1",
                "HYPOTHESIS_STORAGE_DIRECTORY": str(self.root / ".hypothesis")}

    def forget_compiled(self, module: str) -> None:
        """Removes a module's cached bytecode: a mutant the same size within the same second would not be reread."""
        cache = (self.root / module).parent / "__pycache__"
        for compiled in cache.glob(Path(module).stem + ".*.pyc"):
            compiled.unlink()

    def run(self, tests: list[str], timeout: float) -> tuple[bool, float, str]:
        """Runs the tests: (passed, seconds, the output's tail); a timeout fails them."""
        began = time.perf_counter()
        try:
            done = subprocess.run(self.command(tests), cwd=self.root, env=self.environment(), capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, time.perf_counter() - began, "timeout"
        return done.returncode == 0, time.perf_counter() - began, (done.stdout + done.stderr)[-2000:]

    def test(self, mutant: Mutant, tests: list[str], timeout: float) -> None:
        """Tests one mutant in this copy and puts the module back."""
        target = self.root / mutant.module
        original = target.read_text(encoding="utf-8")
        target.write_text(mutant.source, encoding="utf-8")
        try:
            passed, _, output = self.run(tests, timeout)
        finally:
            target.write_text(original, encoding="utf-8")
        mutant.outcome = "survived" if passed else "timeout" if output == "timeout" else "killed"


def _score(mutants: list[Mutant]) -> tuple[dict[str, int], float | None]:
    counts = {outcome: sum(1 for m in mutants if m.outcome == outcome)
              for outcome in ("equivalent", "invalid", "killed", "timeout", "survived")}
    tested = counts["killed"] + counts["timeout"] + counts["survived"]
    return counts, (counts["killed"] + counts["timeout"]) / tested if tested else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", default=[], help="mutate only this module (repeatable)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="copies tested at once")
    parser.add_argument("--lines", help="mutate only lines FIRST-LAST of each module (to work on one part)")
    parser.add_argument("--list", action="store_true", help="count the mutants and stop")
    parser.add_argument("--config", type=Path, default=CONFIG)
    args = parser.parse_args()
    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        raise SystemExit("cosmic-ray is not installed: pip install -e '.[mutation]'") from None
    modules, excluded = load_config(args.config)
    unknown = set(args.module) - {module.path for module in modules}
    if unknown:
        raise SystemExit(f"not in {args.config.name}: {', '.join(sorted(unknown))}")
    modules = [module for module in modules if not args.module or module.path in args.module]
    began = time.perf_counter()
    plans = []
    for module in modules:
        mutants = mutants_of(module, excluded)
        if args.lines:
            first, _, last = args.lines.partition("-")
            mutants = [m for m in mutants if int(first) <= m.line_number <= int(last or first)]
        stale = _set_aside(mutants, module)
        plans.append((module, mutants, stale))
        print(f"{module.path}: {len(mutants)} mutants, {sum(m.outcome == 'equivalent' for m in mutants)} set aside as "
              f"equivalent, {sum(m.outcome == 'invalid' for m in mutants)} do not compile", flush=True)
    if args.list:
        return
    with tempfile.TemporaryDirectory(prefix="mutation-") as folder:
        spaces = [Workspace(Path(folder) / f"copy{n}") for n in range(max(1, args.workers))]
        free = list(spaces)
        lock = threading.Condition()
        for module, mutants, stale in plans:
            for space in spaces:
                space.forget_compiled(module.path)
            passed, seconds, output = spaces[0].run(module.tests, timeout=600)
            if not passed:
                raise SystemExit(f"{module.path}: its tests fail unmutated:\n{output}")
            timeout = 3 * seconds + 10
            pending = [m for m in mutants if m.outcome == "pending"]
            print(f"{module.path}: testing {len(pending)} mutants, {seconds:.1f} s a run unmutated", flush=True)

            def test(mutant: Mutant) -> None:
                with lock:
                    lock.wait_for(lambda: bool(free))
                    space = free.pop()
                try:
                    space.test(mutant, module.tests, timeout)
                finally:
                    with lock:
                        free.append(space)
                        lock.notify()

            with ThreadPoolExecutor(max_workers=len(spaces)) as pool:
                list(pool.map(test, pending))
            _report(module, mutants, stale)
    print(f"\n{'module':44} {'mutants':>8} {'equiv.':>7} {'invalid':>8} {'killed':>7} {'survived':>9} {'score':>7}")
    for module, mutants, _ in plans:
        counts, score = _score(mutants)
        shown = f"{score:.1%}" if score is not None else "-"
        print(f"{module.path:44} {len(mutants):8} {counts['equivalent']:7} {counts['invalid']:8} "
              f"{counts['killed'] + counts['timeout']:7} {counts['survived']:9} {shown:>7}")
    print(f"\n{time.perf_counter() - began:.0f} s on {len(spaces)} worker(s)")


def _report(module: ModuleConfig, mutants: list[Mutant], stale: list[Equivalent]) -> None:
    counts, score = _score(mutants)
    print(f"{module.path}: {counts['killed'] + counts['timeout']} killed, {counts['survived']} survived"
          + (f", score {score:.1%}" if score is not None else ""), flush=True)
    for mutant in sorted((m for m in mutants if m.outcome == "survived"), key=lambda m: m.line_number):
        print(f"  SURVIVED {mutant.module}:{mutant.line_number} {mutant.operator}\n"
              f"    - {mutant.line}\n    + {mutant.mutated_line}")
    for mutant in sorted((m for m in mutants if m.outcome == "equivalent"), key=lambda m: m.line_number):
        print(f"  equivalent {mutant.module}:{mutant.line_number} {mutant.operator}: {mutant.reason}")
    for equivalent in stale:
        print(f"  STALE equivalent entry (no such mutant now): {equivalent.operator} {equivalent.line!r}")


if __name__ == "__main__":
    main()
