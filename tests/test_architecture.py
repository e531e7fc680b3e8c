"""The shape of the house, read from the code's own imports (docs/ARCHITECTURE.md).

- No two parts of ``app/`` import each other, directly or around a longer loop: a part is a
  package (``app/triage/``) or a top-level module (``app/state.py``).
- The socket shell ``app/relay/`` is imported only by the app factory and the server.
- The pure rules import no I/O library, not even through what they import.
- No module grows far past the ~400 lines of STYLE.md §9.
- Every SQL statement is in a package's `repository.py` (STYLE.md §1), with named exceptions.
"""

from __future__ import annotations

import ast
import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

IO_LIBRARIES = {"fastapi", "sqlalchemy", "asyncio", "websockets", "time", "starlette", "redis"}
PURE_MODULES = (
    "app.triage.engine",
    "app.triage.transfers",
    "app.triage.waits",
    "app.triage.hours",
    "app.triage.prefix",
    "app.triage.positions",
    "app.staff.rules",
    "app.supervision.alerts",
    "app.supervision.board",
    "app.supervision.glance",
    "app.supervision.stats",
    "app.canned.engine",
    "app.supervision.charts",
    "app.supervision.report",
    "app.centre.engine",
    "app.chat.envelope",
    "app.chat.wraps",
    "app.events.messages",
    "app.relay.protocol",
    "app.relay.frames",
    "app.relay.states",
)
#: STYLE.md §9 says "split near 400 lines"; past this a module has more than one job.
MAX_MODULE_LINES = 450


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST) -> set[str]:
    """Every ``app`` module a file imports, anywhere in it (``from app import x`` names x)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            if node.module == "app":
                names |= {f"app.{a.name}" for a in node.names}
    return {n for n in names if n.startswith("app.")}


def _part(module: str) -> str:
    """``app.triage.engine`` -> ``triage``; ``app.state`` -> ``state``."""
    return module.split(".")[1]


def part_graph() -> dict[str, dict[str, set[str]]]:
    """part -> imported part -> the files that make that arrow."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(APP.rglob("*.py")):
        module = _module_name(path)
        if module == "app":
            continue
        for target in _imported(ast.parse(path.read_text("utf-8"))):
            if _part(target) != _part(module):
                graph[_part(module)][_part(target)].add(str(path.relative_to(ROOT)))
    return graph


def _cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one part (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_two_parts_of_app_import_each_other() -> None:
    graph = part_graph()
    loops = _cycles(graph)
    detail = [
        f"{a} -> {b} ({', '.join(sorted(graph[a][b]))})"
        for loop in loops
        for a in loop
        for b in loop
        if b in graph.get(a, {})
    ]
    assert not loops, "import loops between parts of app/:\n" + "\n".join(detail)


def test_the_cycle_check_can_fail() -> None:
    graph: dict[str, dict[str, set[str]]] = {
        "chat": {"triage": {"x"}},
        "triage": {"staff": {"y"}},
        "staff": {"chat": {"z"}},
        "kit": {},
    }
    assert _cycles(graph) == [["chat", "staff", "triage"]]
    assert _cycles({"a": {"b": {"x"}}, "b": {}}) == []


def test_the_socket_shell_is_imported_only_by_the_app_factory_and_server() -> None:
    importers = {
        part for part, targets in part_graph().items() if "relay" in targets and part != "relay"
    }
    assert importers <= {"main", "server"}, importers


def _imports(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):  # anywhere in the module, not only at the top
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            names.add("__import__")
    return names


def _closure(module: str) -> dict[str, set[str]]:
    """The module and every ``app`` module it imports, transitively, with their imports."""
    seen: dict[str, set[str]] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = _imports(name)
        todo += [n for n in seen[name] if n == "app" or n.startswith("app.")]
    return seen


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_io(module: str) -> None:
    for name, imports in _closure(module).items():
        roots = {i.split(".")[0] for i in imports}
        assert not roots & IO_LIBRARIES, (name, roots & IO_LIBRARIES)
        assert "__import__" not in imports, name


def test_no_module_is_far_past_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in APP.rglob("*.py")
        if (n := len(p.read_text("utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long


#: Statement builders and session calls that issue SQL (STYLE.md §1: repositories hold them).
SQL_BUILDERS = {"select", "update", "delete", "insert", "text"}
SQL_SESSION_CALLS = {"execute", "get", "add", "add_all", "scalar", "scalars", "delete", "merge"}
#: Where SQL may stand besides the repositories: the engine and its locks, the tables, and the
#: group-commit envelope writer, which owns its own connections (see its docstring).
SQL_ALLOWED = {"app/db.py", "app/migrate.py", "app/chat/store.py"}


def _sql_in(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            if {a.name for a in node.names} & SQL_BUILDERS:
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_SESSION_CALLS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "session"
        ):
            lines.append(node.lineno)
    return lines


def test_every_sql_statement_is_in_a_repository() -> None:
    found = {}
    for path in APP.rglob("*.py"):
        name = str(path.relative_to(ROOT))
        if path.name == "repository.py" or name in SQL_ALLOWED or name.startswith("app/models/"):
            continue
        if lines := _sql_in(ast.parse(path.read_text("utf-8"))):
            found[name] = lines
    assert not found, found


def test_the_sql_check_can_fail() -> None:
    code = "from sqlalchemy import select\nasync def f(session):\n    await session.execute(1)\n"
    assert _sql_in(ast.parse(code)) == [1, 3]
