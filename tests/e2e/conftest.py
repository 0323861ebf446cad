"""Fixtures the browser tests share: the app on a private demo copy, and Debian's chromium.

Both are per test module (each module gets its own server and browser, as before)."""
from __future__ import annotations

import pytest

from tests.dbfixtures import demo_db_copy
from tests.e2e.server import launch_browser, running_app


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    """``streamlit run app.py`` on a private copy of the demo database; its base URL."""
    db = demo_db_copy(tmp_path_factory.mktemp("db"))
    with running_app(db, timeout=180) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()
