"""client/examples/index_video.py end to end on the local stack: the app under the local host,
Azurite, and the ARM/VI stand-in, as `make run` starts them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devhost.azurite import Azurite, free_port
from tests import alertfactory as af
from tests.hosting import ROOT, HostProcess

EXAMPLE = ROOT / "client" / "examples" / "index_video.py"


@pytest.fixture
def stack(azurite: Azurite, table_name: str) -> Iterator[tuple[HostProcess, str]]:
    """The app and its stand-in on free ports: (host, stand-in URL)."""
    port = free_port()
    with HostProcess(azurite.connection_string, table_name, STANDIN_PORT=str(port)) as host:
        yield host, f"http://127.0.0.1:{port}"


def run(tmp_path: Path, host: HostProcess, standin: str, *argv: str) -> str:
    """The example with VI_FAILOVER_* pointing at the local stack; its stdout."""
    env = {
        **os.environ,
        "VI_FAILOVER_URL": host.url,
        "VI_FAILOVER_ARM_URL": standin,
        "VI_FAILOVER_VI_URL": standin,
        "VI_FAILOVER_ARM_TOKEN": "local-dev-token",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--locations", str(tmp_path / "videos.json"), *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 0 == done.returncode, done.stdout + done.stderr
    return done.stdout


def test_a_video_uploaded_during_a_failover_is_read_from_its_account_after_the_failback(
    tmp_path: Path, stack: tuple[HostProcess, str]
) -> None:
    """Upload while West US is active, fail back to East US, then read the insights from West
    US; a new upload goes to East US, and East US does not have the first video."""
    host, standin = stack
    moved = requests.post(
        f"{host.url}/alerts",
        data=af.to_body(af.service_health()),
        headers={"Content-Type": "application/json"},
        timeout=30,
    ).json()["outcome"]

    during = run(
        tmp_path, host, standin, "upload", "--video-url", "https://e.x/a.mp4", "--name", "a"
    )
    video = re.search(r"uploaded video (\w+)", during)
    back = requests.post(
        f"{host.url}/failover",
        json={"group": "default", "to": "contoso-eastus", "reason": "East US back", "force": True},
        timeout=30,
    ).json()["outcome"]
    assert video is not None
    read = run(tmp_path, host, standin, "insights", video.group(1))
    after = run(
        tmp_path, host, standin, "upload", "--video-url", "https://e.x/b.mp4", "--name", "b"
    )
    east = requests.get(f"{standin}/_standin/accounts", timeout=10).json()["accounts"][0]
    token = requests.post(
        f"{standin}{east['resourceId']}/generateAccessToken?api-version=2025-04-01",
        json={"permissionType": "Reader", "scope": "Account"},
        headers={"Authorization": "Bearer local-dev-token"},
        timeout=10,
    ).json()["accessToken"]
    on_east = requests.get(
        f"{standin}/eastus/Accounts/{east['accountId']}/Videos/{video.group(1)}/Index",
        params={"accessToken": token},
        timeout=10,
    )

    assert ("failed_over", "moved") == (moved, back)
    assert "active account of default: contoso-westus (v2)" in during
    assert f"uploaded video {video.group(1)} (Uploaded) to contoso-westus" in during
    assert f"video {video.group(1)} on contoso-westus: Processed; keywords: failover" in read
    assert "uploaded video" in after
    assert after.rstrip().endswith("to contoso-eastus")
    assert (404, "VIDEO_NOT_FOUND") == (on_east.status_code, on_east.json()["ErrorType"])
