"""Fixtures the browser tests share: the app on a private demo copy, and Debian's chromium.

Both are per test module (each module gets its own server and browser, as before)."""
from __future__ import annotations

import pytest

from tests.dbfixtures import demo_db_copy
from tests.e2e.server import launch_browser, running_app


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """A private copy of the demo database for the module (a module may override this fixture)."""
    return demo_db_copy(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="module")
def base_url(demo_db):
    """``streamlit run app.py`` on ``demo_db``; its base URL."""
    with running_app(demo_db, timeout=180) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()
