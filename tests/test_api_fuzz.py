"""Schemathesis against the live local stack, from the document the app serves: generated
requests to every route (examples, boundary cases, random data and linked sequences) must never
get a 5xx, a status the document does not list for the route, or an answer that breaks its
schema. The run is seeded and bounded, so it finds the same things every time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devhost.azurite import Azurite
from tests.hosting import HostProcess

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Per operation and phase; about 30 s on two cores. API_FUZZ_EXAMPLES raises it for a deeper run.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "40"))
SEED = "20261201"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
MASTER_KEY = "fuzz-master-key-5b1e0c7a9d"


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(
    azurite: Azurite, table_name: str, tmp_path: Path
) -> None:
    """Every generated request is answered without a 5xx and as the document says."""
    keys = {"LOCAL_MASTER_KEY": MASTER_KEY, "LOCAL_FUNCTION_KEY": "fuzz-reader-key-3f9a2c"}
    with HostProcess(azurite.connection_string, table_name, **keys) as host:
        origin = host.url.removesuffix("/api")
        command = [
            str(SCHEMATHESIS),
            "run",
            f"{host.url}/openapi.json",
            f"--url={origin}",
            f"--checks={CHECKS}",
            f"--max-examples={EXAMPLES}",
            f"--seed={SEED}",
            "--workers=2",
            "--request-timeout=30",
            # The master key opens every route (the operator route is `local` here); the
            # generated requests that leave it out or spoil it must get the documented 401.
            f"--header=x-functions-key: {MASTER_KEY}",
        ]
        env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
        run = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    assert 0 == run.returncode, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout, run.stdout[-3000:]
