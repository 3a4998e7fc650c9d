"""Where the local stack finds the repository and its demo configuration."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST_JSON = REPO_ROOT / "host.json"
DEMO_CONFIG = Path(__file__).resolve().parent / "demo-config.json"
