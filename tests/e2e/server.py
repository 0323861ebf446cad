"""Start the real app for browser tests: ``with running_app(db) as base_url: ...``.

The server runs ``streamlit run app.py`` (through ``ui.launch``, as scripts/run-app.sh) in its own process group on a free
port, headless and without usage statistics, against the database given (the
``KJHZ_DB`` environment variable). Startup waits for ``/_stcore/health``; the
server's output goes to a log file that is printed when startup fails or the
test body raises, so a failing browser test shows what the server said.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _show_log(log: Path, why: str) -> None:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else "(no log)"
    print(f"\n----- streamlit server log ({why}) -----\n{text[-20000:]}\n----- end of log -----",
          file=sys.stderr, flush=True)


@contextmanager
def running_app(db_path: Path | str, port: int | None = None, *, timeout: float = 120.0,
                env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the app on ``db_path``; yields the base URL (``http://127.0.0.1:PORT``).

    ``port`` defaults to a free one. A fresh database path makes the app build
    the demo database on first start (slow); pass a prepared one to save time.
    """
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp(prefix="kjhz-e2e-")) / "streamlit.log"
    full_env = {**os.environ, "KJHZ_DB": str(db_path), "PYTHONUNBUFFERED": "1", **(env or {})}
    cmd = [sys.executable, "-m", "ui.launch",  # streamlit run app.py, as scripts/run-app.sh starts it
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(f"{base}/_stcore/health"):
            if proc.poll() is not None:
                _show_log(log, f"exited with {proc.returncode} before it was ready")
                raise RuntimeError(f"streamlit exited with {proc.returncode}; log: {log}")
            if time.monotonic() > deadline:
                _show_log(log, "not ready in time")
                raise TimeoutError(f"streamlit not healthy after {timeout:.0f} s; log: {log}")
            time.sleep(0.2)
        try:
            yield base
        except BaseException:
            _show_log(log, "test failed")
            raise
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def is_local(url: str) -> bool:
    """True for URLs the browser may load offline: this server, data: and blob: URLs."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


def launch_browser(playwright):
    """Debian's chromium through Playwright (never ``playwright install``)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def navigation() -> dict[str, list[tuple]]:
    """The app's pages (ui/navigation.py): {section: [(file, title, icon, url path), ...]}, only the
    pages whose file exists (as app.py shows them)."""
    from ui.navigation import sections

    return sections()


def local_page(browser, outside: list[str], viewport: dict, timeout: int):
    """A page that accepts downloads, records every request that leaves this machine in ``outside``,
    and waits up to ``timeout`` ms for anything."""
    page = browser.new_page(viewport=viewport, accept_downloads=True)
    page.on("request", lambda r: None if is_local(r.url) else outside.append(r.url))
    page.set_default_timeout(timeout)
    return page


def sidebar_login(page, user: str, password: str) -> None:
    """Log in with the form in the sidebar, as a user does."""
    side = page.get_by_test_id("stSidebar")
    side.get_by_test_id("stExpander").filter(has_text="登录").locator("summary").click()
    side.get_by_role("textbox", name="用户名").fill(user)
    side.get_by_role("textbox", name="口令").fill(password)
    side.get_by_role("button", name="登录").click()
    side.get_by_role("button", name="退出登录").wait_for()


def idle(page) -> None:
    """The script run is over: a choice made while it still runs may go to a widget it then replaces."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached")


def open_dropdown(box) -> None:
    """Open a select box as a user does: scrolled to first, then clicked. Clicked while its panel still
    scrolls into view, the list opens and closes again at once (the widget closes on scroll)."""
    box.scroll_into_view_if_needed()
    box.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    box.click()
