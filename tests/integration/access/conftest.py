from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def new_browser(client: TestClient) -> Callable[[], TestClient]:
    """Another browser (its own cookies) on the same server."""
    return lambda: TestClient(client.app)
