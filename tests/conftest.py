"""Shared fixtures: a real Azurite for the suite, a fresh table per test, and the ARM/VI
stand-in for the east and west accounts."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
from azure.data.tables import TableServiceClient

from devhost.azurite import AZURITE, Azurite
from devhost.standin import AzureStandIn
from tests.core import EAST, WEST


def _azurite_installed() -> bool:
    return AZURITE.exists() and bool(shutil.which("node"))


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One in-memory Azurite for the whole run; CI fails loudly when it is missing."""
    if not _azurite_installed():
        if os.environ.get("CI") == "true":
            pytest.fail("Azurite is not installed (npm ci) and CI=true: refusing to skip")
        pytest.skip("Azurite is not installed; run `npm ci`")
    with Azurite() as server:
        yield server


@pytest.fixture
def table_name() -> str:
    """A table name of its own for each test, so tests never see each other's rows."""
    return "t" + uuid.uuid4().hex[:20]


@pytest.fixture
def table_service(azurite: Azurite) -> TableServiceClient:
    """A client for the suite's Azurite."""
    return TableServiceClient.from_connection_string(azurite.connection_string)


@pytest.fixture
def standin() -> Iterator[AzureStandIn]:
    """The ARM + VI stand-in for east and west."""
    server = AzureStandIn([EAST, WEST], hang_seconds=10, slow_seconds=0.2)
    server.start_in_thread()
    yield server
    server.shutdown()
