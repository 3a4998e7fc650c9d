"""The function app as the local host loads it, and the settings the local stack defaults."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping

import azure.functions as func

from devhost.paths import REPO_ROOT
from shared.settings import FANOUT_QUEUE_DEFAULT

# %SETTING%s the Functions host resolves from app settings, when the environment leaves them out.
# The local stack probes every 30 s (Azure's default is every 5 minutes) so that readiness
# and automatic failback can be watched on a laptop; READINESS_SCHEDULE overrides it.
LOCAL_SETTING_DEFAULTS = {
    "READINESS_SCHEDULE": "*/30 * * * * *",
    "FANOUT_QUEUE": FANOUT_QUEUE_DEFAULT,
}


class AppLoadError(Exception):
    """The module imports but holds no `func.FunctionApp` named `app`."""


def app_module_name(environ: Mapping[str, str]) -> str:
    """The module holding the app: FUNCTION_APP_MODULE, or "function_app"."""
    return environ.get("FUNCTION_APP_MODULE", "function_app")


def load_app(module_name: str) -> func.FunctionApp:
    """Import the app module; its import is where the app validates its settings."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # so any working directory finds function_app
    app = getattr(importlib.import_module(module_name), "app", None)
    if not isinstance(app, func.FunctionApp):
        raise AppLoadError(f"{module_name}.app is not a func.FunctionApp")
    return app
