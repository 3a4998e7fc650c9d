"""The shape of the code: small modules, and layers whose imports point one way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 300
MODULES = sorted(p for d in ("shared", "devhost") for p in (ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("module", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_no_module_is_longer_than_300_lines(module: Path) -> None:
    """Each module of shared/ and devhost/ does one job, in at most 300 lines."""
    lines = len(module.read_text(encoding="utf-8").splitlines())

    assert lines <= MAX_LINES, f"{module.relative_to(ROOT)} has {lines} lines"


def test_the_layers_of_shared_point_one_way() -> None:
    """import-linter's contracts (pyproject.toml) hold: wiring → http/adapters → settings →
    app → core, and neither the core nor the use cases import an SDK."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert 0 == result.returncode, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout
