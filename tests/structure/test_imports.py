"""Package layout rules, checked on the source with :mod:`ast` (nothing is imported).

- the library never imports the command line (``hdrkit.commands``, ``hdrkit.cli``): only
  ``commands/``, ``cli.py`` and ``__main__.py`` may;
- numba is imported in ``hdrkit/core/`` only (every kernel lives in the colour core);
- imports between hdrkit modules form no cycle, function-local ones included (a local
  import is for start-up time, never to hide a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "hdrkit"
CLI_MODULES = {"hdrkit.cli", "hdrkit.__main__"}


def _module_name(path: Path, pkg: Path = PKG) -> str:
    parts = path.relative_to(pkg.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(pkg: Path = PKG) -> dict[str, Path]:
    return {_module_name(p, pkg): p for p in sorted(pkg.rglob("*.py"))}


def _imports(name: str, path: Path):
    """(imported module, line) for every import in ``path``, function-local ones included;
    relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_pkg else base[:-1]
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            yield mod, node.lineno
            for a in node.names:  # "from . import kernels" imports a module
                yield f"{mod}.{a.name}", node.lineno


def _is_under(mod: str, prefix: str) -> bool:
    return mod == prefix or mod.startswith(prefix + ".")


def _offending_imports(exempt, forbidden, pkg: Path = PKG) -> list[str]:
    """``path:line imports module`` for every import of a ``forbidden`` module outside ``exempt`` modules."""
    bad = []
    for name, path in _modules(pkg).items():
        if exempt(name):
            continue
        bad += [f"{path.relative_to(pkg.parent).as_posix()}:{line} imports {mod}" for mod, line in _imports(name, path)
                if forbidden(mod)]
    return bad


def test_library_never_imports_the_cli():
    cli = lambda m: _is_under(m, "hdrkit.commands") or m in CLI_MODULES  # noqa: E731
    bad = _offending_imports(cli, cli)
    assert not bad, "library code imports the command line:\n" + "\n".join(bad)


def _numba_outside_core(pkg: Path = PKG) -> list[str]:
    return _offending_imports(lambda m: _is_under(m, "hdrkit.core"), lambda m: _is_under(m, "numba"), pkg)


def test_numba_only_in_core():
    bad = _numba_outside_core()
    assert not bad, "numba outside hdrkit/core/:\n" + "\n".join(bad)


def test_the_checker_sees_numba_outside_core(tmp_path):
    pkg = tmp_path / "hdrkit"
    for sub, text in (("core/k.py", "import numba\n"), ("video/x.py", "def f():\n    from numba import njit\n")):
        (pkg / sub).parent.mkdir(parents=True, exist_ok=True)
        (pkg / sub).write_text(text)
    assert _numba_outside_core(pkg) == ["hdrkit/video/x.py:2 imports numba", "hdrkit/video/x.py:2 imports numba.njit"]


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        deps = set()
        for mod, _ in _imports(name, path):
            # "from .x import y": y may be a name (edge to x) or a submodule (edge to x.y)
            if mod in mods and mod != name:
                deps.add(mod)
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Edges from a package's ``__init__`` to its own submodules are how packages load, and
    a submodule importing a sibling through the package runs after ``__init__`` started:
    drop submodule -> own-ancestor-package edges (they are not order-dependent cycles)."""
    return {v: {w for w in ws if not v.startswith(w + ".")} for v, ws in graph.items()}


def test_no_import_cycles():
    cycles = _cycles(_without_packages(_graph()))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]

