"""The import graph: no cycle between modules, and every import points down the layers.

The layers (docs/architecture.md): fixtures/ is what everything stands on and imports none of the
product's other packages; conformance/, load/ and discover/ stand on fixtures/; reports/ reads
result files and never imports conformance/ or load/. Inside the emulator, pure policy imports only
the wire records and the record modules of the models, and reaches nothing else through them;
integration may use policy; the gateway assembles both; serve runs the gateway. Inside reports/,
readers, the pure gate and writers never import the orchestration (build, run, cli); only the CLI
imports run.

Every import counts, including those inside functions and under TYPE_CHECKING: an import hidden in a
function is still a dependency, and hiding one was how the old cycles survived.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fixtures", "conformance", "load", "reports", "discover")

# The models and shared records policy cores may use (besides the standard library and packages):
# record modules only, never a loader, parser or writer, nor a package whose __init__ imports one.
MODELS = frozenset(
    {
        "fixtures.contract.model",
        "fixtures.contract.identity",
        "fixtures.contract.paths",
        "fixtures.stage.model",
        "fixtures.behaviour",
        "fixtures.errors",
        "fixtures.emulator.wire",
    }
)
POLICY = "fixtures.emulator.policy"
OUTSIDE_PRODUCT = ("tests", "bench", "conftest")  # the product never imports its own tests
EMULATOR_LAYERS = ("wire", "policy", "integration", "gateway", "serve")  # low to high


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imported(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The product modules a module imports (the module itself when `from pkg import submodule`)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            submodules = [f"{module}.{alias.name}" for alias in node.names]
            targets = [s for s in submodules if s in known]
            if len(targets) < len(submodules):  # a name from the module itself: its __init__ runs
                targets.append(module)
        else:
            continue
        for target in targets:
            if target.split(".")[0] in OUTSIDE_PRODUCT:
                yield target
                continue
            while target and target not in known:  # `import a.b.c` of a package path
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def import_graph() -> dict[str, set[str]]:
    modules = product_modules()
    known = set(modules)
    return {name: set(imported(name, path, known)) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def emulator_layer(module: str) -> int | None:
    """The emulator layer index of a module (wire=0 ... serve=4), None outside the layers."""
    for rank, layer in enumerate(EMULATOR_LAYERS):
        if _under(module, f"fixtures.emulator.{layer}"):
            return rank
    return None


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import against the layer direction, as 'a -> b: why'."""
    found = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            why = _violation(source, target)
            if why:
                found.append(f"{source} -> {target}: {why}")
    return found


def _violation(source: str, target: str) -> str | None:
    top_source, top_target = source.split(".")[0], target.split(".")[0]
    if top_target in OUTSIDE_PRODUCT:
        return "the product never imports the self-tests, benchmarks or conftest"
    if top_source == "fixtures" and top_target != "fixtures":
        return "fixtures/ is the base layer: it imports no other product package"
    if top_source in ("conformance", "load", "discover") and top_target not in (top_source, "fixtures"):
        return f"{top_source}/ stands on fixtures/ only"
    if top_source == "reports" and top_target in ("conformance", "load"):
        return "reports/ reads result files; it never imports conformance/ or load/"
    if _under(source, "fixtures.emulator") and _under(target, "fixtures.clinic"):
        return "the emulator loads handler modules by name from the stage file, never by import"
    low, high = emulator_layer(target), emulator_layer(source)
    if high is not None and low is not None and low > high:
        return f"emulator {EMULATOR_LAYERS[high]} imports the higher layer {EMULATOR_LAYERS[low]}"
    if (
        top_source == "fixtures"
        and not _under(source, "fixtures.emulator")
        and _under(target, "fixtures.emulator")
    ):
        return "the models and shared records stand below the emulator, which is built on them"
    if _under(source, POLICY) and target not in MODELS and not _under(target, POLICY):
        return "pure policy imports only the wire records and the record modules of the models"
    if _under(source, "fixtures.contract") and _under(target, "fixtures.stage"):
        return "the contract model does not know stages"
    if (
        _under(source, "conformance.catalog")
        and _under(target, "conformance")
        and not _under(target, "conformance.catalog")
    ):
        return "the case catalogue is pure: it imports no harness, plugin or session"
    if (
        _under(source, "conformance.harness")
        and _under(target, "conformance")
        and not _under(target, "conformance.harness")
        and not _under(target, "conformance.catalog")
    ):
        return "the harness imports the case catalogue only, never the plugin or session"
    if _under(target, "reports.run") and source != "reports.cli":
        return "reports.run orchestrates a gate run; only the CLI imports it"
    if (
        top_source == "reports"
        and _under(target, "reports.build")
        and source not in ("reports.run", "reports.cli")
    ):
        return "readers, the gate and writers never import the report assembly"
    for part in ("read", "gate", "write"):
        if _under(source, f"reports.{part}") and any(
            _under(target, f"reports.{higher}") for higher in ("build", "run", "cli", "live")
        ):
            return f"reports.{part} never imports orchestration"
    if _under(source, "reports.read") and _under(target, "reports.write"):
        return "readers never import writers"
    if _under(source, "reports.gate") and not _under(target, "fixtures"):
        return "the gate is pure: it imports only shared records from fixtures/"
    return None


def reached(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module `start` imports, directly or through the modules it imports."""
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def policy_escapes(graph: dict[str, set[str]]) -> list[str]:
    """Modules policy reaches outside policy and the records, as 'policy module -> module'.

    A record module that came to import a loader would pass the direct-import rule and still put
    file or network I/O under a pure core: what policy reaches is what it runs.
    """
    found = []
    for source in sorted(m for m in graph if _under(m, POLICY)):
        for target in sorted(reached(graph, source)):
            if target not in MODELS and not _under(target, POLICY):
                found.append(f"{source} -> {target}")
    return found


GRAPH = import_graph()


def test_the_graph_sees_the_whole_product() -> None:
    # positive control: the walker finds modules in every package, with their imports
    assert {name.split(".")[0] for name in GRAPH} == set(PACKAGES)
    assert "fixtures.stage.model" in GRAPH["fixtures.stage.load"]
    assert "fixtures.emulator.gateway.pipeline" in GRAPH["fixtures.emulator.serve.server"]
    assert len(GRAPH) > 100


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


def test_imports_follow_the_layers() -> None:
    assert violations(GRAPH) == []


def test_policy_reaches_only_policy_and_the_records() -> None:
    assert any(_under(m, POLICY) for m in GRAPH)  # positive control: the policy cores are walked
    assert "fixtures.contract.model" in reached(GRAPH, "fixtures.emulator.policy.routing")
    assert policy_escapes(GRAPH) == []


def test_reach_follows_imports_through_a_record() -> None:
    """A record module importing a loader puts the loader under policy; without that import, not."""
    graph = {
        f"{POLICY}.cors": {"fixtures.contract.model", f"{POLICY}.routing"},
        f"{POLICY}.routing": {"fixtures.stage.model"},
        "fixtures.stage.model": {"fixtures.contract.model"},
        "fixtures.contract.model": {"fixtures.contract.load"},
        "fixtures.contract.load": {"fixtures.contract.refs"},
    }
    assert reached(graph, f"{POLICY}.routing") == {
        "fixtures.stage.model",
        "fixtures.contract.model",
        "fixtures.contract.load",
        "fixtures.contract.refs",
    }
    assert policy_escapes(graph) == [
        f"{POLICY}.cors -> fixtures.contract.load",
        f"{POLICY}.cors -> fixtures.contract.refs",
        f"{POLICY}.routing -> fixtures.contract.load",
        f"{POLICY}.routing -> fixtures.contract.refs",
    ]
    graph["fixtures.contract.model"] = set()  # the control: records that import no loader
    assert policy_escapes(graph) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_cycle_finder(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("fixtures.stage.model", "conformance.harness.api"),
        ("fixtures.emulator.policy.cors", "fixtures.emulator.gateway.render"),
        ("fixtures.emulator.policy.cors", "fixtures.tokens"),
        ("fixtures.emulator.integration.proxy", "fixtures.emulator.serve.server"),
        ("reports.gate", "conformance.coverage"),
        ("reports.read.load", "load.results"),
        ("reports.write.summary", "reports.run"),
        ("reports.read.coverage", "reports.write.summary"),
        ("load.session", "reports.gate"),
        ("conformance.catalog.routes", "conformance.harness.expect"),
        ("fixtures.emulator.gateway.pipeline", "fixtures.clinic.portal_handlers"),
        ("fixtures.emulator.policy.cors", "fixtures.stage.copies"),
        ("fixtures.emulator.policy.keys", "fixtures.stage.load"),
        ("fixtures.emulator.policy.keys", "fixtures.stage"),  # the package's __init__ runs the loader
        ("fixtures.emulator.policy.cors", "fixtures.contract"),
        ("fixtures.emulator.policy.routing", "fixtures.contract.load"),
        ("fixtures.stage.model", "fixtures.emulator.wire"),
        ("fixtures.behaviour", "fixtures.emulator.gateway.faults"),
        ("reports.gate", "discover.drift"),
        ("reports.gate", "reports.read.coverage"),
        ("reports.write.summary", "tests.conformance_runs"),
        ("conformance.plugin", "bench.fidelity"),
    ],
)
def test_a_wrong_direction_is_named(source: str, target: str) -> None:
    assert _violation(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("fixtures.emulator.policy.cors", "fixtures.contract.model"),
        ("fixtures.emulator.policy.jwt_auth", "fixtures.emulator.wire"),
        ("fixtures.emulator.gateway.pipeline", "fixtures.emulator.policy.routing"),
        ("fixtures.emulator.serve.server", "fixtures.emulator.gateway.pipeline"),
        ("conformance.harness.api", "conformance.catalog.records"),
        ("reports.run", "reports.build"),
        ("reports.cli", "reports.run"),
        ("reports.write.summary", "reports.gate"),
        ("load.session", "fixtures.stage"),
        ("fixtures.emulator.policy.keys", "fixtures.stage.model"),
        ("fixtures.emulator.policy.lambda_auth", "fixtures.contract.identity"),
        ("reports.gate", "fixtures.cell_states"),
    ],
)
def test_a_right_direction_passes(source: str, target: str) -> None:
    assert _violation(source, target) is None


def test_the_walker_sees_package_edges_and_imports_of_the_tests(tmp_path: Path) -> None:
    """`from pkg import sub, Name` depends on pkg's __init__ too; an import of tests/ is an edge."""
    module = tmp_path / "m.py"
    module.write_text("from pkg import sub, Name\nfrom pkg import sub\nimport tests.helpers\n")
    known = {"pkg", "pkg.sub", "m"}
    assert sorted(imported("m", module, known)) == ["pkg", "pkg.sub", "pkg.sub", "tests.helpers"]
