"""The layers depend one way. Read from the source (every import statement, also those inside functions):

- the network (k3dn.network) imports nothing else of k3dn but two leaves: the user-facing error types (k3dn.errors)
  and the one write path (k3dn.files);
- the inference layer (k3dn.camera) never imports training, data, export or calibration code;
- export never imports calibration (the artifact cache that builds both sits above them, in k3dn.artifacts);
- no import cycles, between modules or between folders (a top-level module of k3dn counts as its own folder).

Plus, at run time: importing the inference path loads no training, data, export or calibration module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"k3dn": "k3dn", "export": "k3dn.export", "calibration": "k3dn.calibration"}


def _modules() -> dict[str, tuple[Path, bool]]:
    """module name -> (file, is a package __init__), by the names the package installs under."""
    mods = {}
    for folder, name in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("").parts
            is_pkg = rel[-1] == "__init__"
            mods[".".join([name, *(rel[:-1] if is_pkg else rel)])] = (path, is_pkg)
    return mods


def _graph() -> dict[str, set[str]]:
    """module -> the k3dn modules it imports (the package `k3dn` itself, whose __init__ re-exports, aside)."""
    mods = _modules()
    graph = {}
    for mod, (path, is_pkg) in mods.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".")[: len(mod.split(".")) - node.level + (1 if is_pkg else 0)]
                    head = ".".join(base + ([node.module] if node.module else []))
                else:
                    head = node.module or ""
                names = [head] + [f"{head}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                while name and name not in mods:
                    name = name.rpartition(".")[0]
                if name and name not in (mod, "k3dn"):
                    targets.add(name)
        graph[mod] = targets
    return graph


def _folder(mod: str, mods: dict) -> str:
    """k3dn.camera.tiling -> k3dn.camera; a top-level module (k3dn.cli, k3dn.errors) is its own folder."""
    parts = mod.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or (len(parts) == 2 and mods[mod][1]) else mod


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan, iterative)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _within(mod: str, package: str) -> bool:
    return mod == package or mod.startswith(package + ".")


def _violations(graph: dict[str, set[str]], source: str, forbidden: str) -> list[str]:
    return sorted(f"{m} imports {t}" for m, targets in graph.items() if _within(m, source)
                  for t in targets if _within(t, forbidden))


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return _graph()


def test_the_graph_sees_the_package(graph) -> None:
    # guards the rules below against passing on an empty or misread graph
    assert {"k3dn.network.model", "k3dn.camera.deblurrer", "k3dn.export.pipeline", "k3dn.calibration.pipeline",
            "k3dn.training.trainer", "k3dn.commands.deblur"} <= set(graph)
    assert "k3dn.network.model" in graph["k3dn.camera.runners"] | graph["k3dn.network.weights_io"]
    assert "k3dn.export.lower" in graph["k3dn.calibration.pipeline"]


# Leaves every layer may use: the user-facing error types, and the one write path (k3dn.files: atomic replace,
# protected inputs), which the network's save_weights/read_weights use too.
LEAVES = ("k3dn.errors", "k3dn.files")


def test_network_imports_nothing_above_it(graph) -> None:
    bad = sorted(f"{m} imports {t}" for m, targets in graph.items() if _within(m, "k3dn.network")
                 for t in targets if not _within(t, "k3dn.network") and t not in LEAVES)
    assert bad == []
    for leaf in LEAVES:
        assert graph[leaf] == set(), f"{leaf} must stay a leaf: the network imports it"


@pytest.mark.parametrize("forbidden", ["k3dn.training", "k3dn.data", "k3dn.export", "k3dn.calibration"])
def test_camera_never_imports(graph, forbidden) -> None:
    assert _violations(graph, "k3dn.camera", forbidden) == []


def test_export_never_imports_calibration(graph) -> None:
    assert _violations(graph, "k3dn.export", "k3dn.calibration") == []


def test_no_module_cycles(graph) -> None:
    assert _cycles(graph) == []


def _folder_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    mods = _modules()
    folders: dict[str, set[str]] = {}
    for mod, targets in graph.items():
        here = _folder(mod, mods)
        folders.setdefault(here, set()).update(_folder(t, mods) for t in targets if _folder(t, mods) != here)
    return folders


def test_no_folder_cycles(graph) -> None:
    assert _cycles(_folder_graph(graph)) == []


# The README's map of the folders, top to bottom: each imports only what stands below it. The last three are
# shared leaves that import nothing of k3dn.
LAYERS = ("k3dn", "k3dn.__main__", "k3dn.cli", "k3dn.commands", "k3dn.bench", "k3dn.artifacts", "k3dn.calibration",
          "k3dn.export", "k3dn.training", "k3dn.evaluation", "k3dn.data", "k3dn.camera", "k3dn.network",
          "k3dn.io", "k3dn.backends", "k3dn.files", "k3dn.errors")


def test_folders_depend_down_the_readme_map(graph) -> None:
    folders = _folder_graph(graph)
    assert sorted(set(folders) - set(LAYERS)) == [], "a new folder or top-level module: place it in LAYERS"
    upward = sorted(f"{a} imports {b}" for a, targets in folders.items() for b in targets
                    if LAYERS.index(b) <= LAYERS.index(a))
    assert upward == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_inference_path_imports_no_training_or_export_code() -> None:
    code = ("import sys, k3dn.camera, k3dn.camera.runners, k3dn.commands.deblur; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('export', 'calibration') or "
            "m.startswith(('k3dn.export', 'k3dn.calibration', 'k3dn.training', 'k3dn.data'))]; "
            "print(bad); sys.exit(bool(bad))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, f"the inference path imported {done.stdout.strip()} {done.stderr[-500:]}"
