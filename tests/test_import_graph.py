"""The import graph of keras_lr: no cycle, and a core that needs no Keras.

Every `.py` file of the `keras_lr` and `keras_lr_cli` packages is parsed with
`ast` (nothing is imported). An edge `a -> b` is an import of module `b` by
module `a`, with relative imports resolved; `from pkg import name` is an edge
to `pkg.name` when that is a module, else to `pkg`.

- The cycle check uses the imports that run when a module is imported: those
  at module level (also inside a module-level `try` or `if`), but not those
  inside functions or classes' methods (run later, when called) nor under
  `if TYPE_CHECKING:` (never run). An edge goes to the imported module itself,
  not to its parent packages (a package's `__init__` importing its own
  submodules is the normal layout, not a cycle).
- The core check uses every import, function-level too: `keras_lr.core`
  imports no Keras (nor a backend), and no keras_lr module outside the core
  but `keras_lr._validation` (itself Keras-free).
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("keras_lr", "keras_lr_cli")
BACKENDS = ("keras", "tensorflow", "jax", "torch")


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules():
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = modules()


def is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path, module_level_only):
    """The modules `path` imports: `(name, line)` pairs (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def visit(node, top):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                if module_level_only:
                    continue
                visit(child, False)
            elif isinstance(child, ast.If) and is_type_checking(child.test):
                if not module_level_only:
                    visit(child, top)
            elif isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module
                for alias in child.names:
                    candidate = f"{source}.{alias.name}"
                    found.append((candidate if candidate in MODULES else source, child.lineno))
            else:
                visit(child, top)

    visit(tree, True)
    return found


def graph():
    return {
        name: sorted({target for target, _ in imports(path, True) if target in MODULES} - {name})
        for name, path in MODULES.items()
    }


def find_cycle(edges):
    """A cycle as a list of modules, or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in edges.get(node, ()):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_walk_sees_the_package():
    assert {
        "keras_lr",
        "keras_lr.core",
        "keras_lr.core.rules",
        "keras_lr.callbacks.lr_finder",
    } <= set(MODULES)
    edges = graph()
    assert "keras_lr.core.result" in edges["keras_lr.callbacks.lr_finder"]
    assert "keras_lr.core.diagnosis" in edges["keras_lr.core.rules"]


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": [], "c": ["a"]}) is None


def test_no_import_cycle_at_module_level():
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle)


CORE = sorted(
    name for name in MODULES if name == "keras_lr.core" or name.startswith("keras_lr.core.")
)


@pytest.mark.parametrize("name", CORE)
def test_the_core_imports_neither_keras_nor_the_rest_of_keras_lr(name):
    for target, line in imports(MODULES[name], module_level_only=False):
        top = target.split(".")[0]
        assert top not in BACKENDS, f"{name}:{line} imports {target}"
        if top in PACKAGES:
            allowed = target == "keras_lr._validation" or target.startswith("keras_lr.core")
            assert allowed, f"{name}:{line} imports {target}, outside keras_lr.core"


def test_validation_is_keras_free():
    for target, line in imports(MODULES["keras_lr._validation"], module_level_only=False):
        assert target.split(".")[0] not in (*BACKENDS, *PACKAGES), f"line {line}: {target}"
