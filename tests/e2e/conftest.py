"""Fixtures of the browser tests: the served demo and one Chromium for the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.studio import CHROMIUM, Served, StudioBrowser, serve_demo


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs /usr/bin/chromium (make system-deps)")
    with serve_demo(tmp_path_factory.mktemp("studio")) as running:
        yield running


@pytest.fixture(scope="session")
def studio(served: Served) -> Iterator[StudioBrowser]:
    browser = StudioBrowser(served)
    yield browser
    browser.close()
