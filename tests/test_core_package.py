"""vi-failover-core: `shared/core` packaged alone, for the client's `replay`, with no dependency."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = sorted((ROOT / "shared" / "core").glob("*.py"))
REPLAY_CLIENT = sorted((ROOT / "client" / "vi_failover_client").glob("*replay*.py"))


def imported(module: Path) -> set[str]:
    """The top-level names of every module the file imports (absolute imports)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_core_package_holds_shared_core_and_nothing_else() -> None:
    """core/pyproject.toml maps `shared.core` to the repository's shared/core, without
    dependencies: the app's settings, adapters and wiring never ship in it."""
    project = tomllib.loads((ROOT / "core" / "pyproject.toml").read_text(encoding="utf-8"))

    setuptools = project["tool"]["setuptools"]
    assert (["shared.core"], {"shared.core": "../shared/core"}, []) == (
        setuptools["packages"],
        setuptools["package-dir"],
        project["project"]["dependencies"],
    )
    assert (ROOT / "core" / setuptools["package-dir"]["shared.core"] / "__init__.py").is_file()


@pytest.mark.parametrize("module", CORE, ids=[p.name for p in CORE])
def test_every_core_module_imports_only_the_standard_library_and_the_core(module: Path) -> None:
    """So the package installs and runs with nothing else."""
    outside = {
        name
        for name in imported(module)
        if name.split(".")[0] not in sys.stdlib_module_names
        and name != "__future__"
        and not name.startswith("shared.core")
    }

    assert set() == outside


@pytest.mark.parametrize("module", REPLAY_CLIENT, ids=[p.name for p in REPLAY_CLIENT])
def test_the_clients_replay_takes_only_the_core_from_the_repository(module: Path) -> None:
    """The client's replay modules import `shared.core` and nothing else of the app."""
    app = {name for name in imported(module) if name.split(".")[0] == "shared"}

    assert set() == {name for name in app if not name.startswith("shared.core")}
