"""Benchmark: first start, as a new user meets it (issue 12, target: a usable 总览 within 20 s).

Each run makes a fresh clone of this repository's committed HEAD (or ``--rev``) (packages are installed, there
is no database: ``KJHZ_DB`` points into an empty temp folder), starts ``bash scripts/run-app.sh``
in it (headless, on ``--port``), and opens the app in headless Chromium as soon as the server
answers. The clock runs from the start of run-app.sh until 总览 is usable: its script run is over
and every chart and table has drawn (bench/browser.py's test), with the demo database, which the
first start builds, in place. Also printed: when the server first answered and when the demo
database was in place (the file appearing). ``--repeat`` runs; the median is the result.

    python bench/first_start.py [--repeat 3] [--port 8521] [--rev COMMIT]
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.browser import DONE, VIEWPORT  # noqa: E402
from tests.e2e.server import launch_browser  # noqa: E402


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def one_start(port: int, rev: str = "HEAD", timeout: float = 180.0) -> dict[str, float]:
    """Seconds from run-app.sh's start to: the server answering, the database in place, 总览 usable."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="kjhz-first-start-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", rev], check=True)
        db = Path(tmp) / "db" / "kjhz.duckdb"
        env = {**os.environ, "KJHZ_DB": str(db), "PYTHONUNBUFFERED": "1"}
        log = open(Path(tmp) / "server.log", "wb")
        with sync_playwright() as p:
            browser = launch_browser(p)  # the browser is the user's, started before the clock
            page = browser.new_page(viewport=VIEWPORT, locale="zh-CN")
            page.set_default_timeout(timeout * 1000)
            t0 = time.perf_counter()
            proc = subprocess.Popen(["bash", "scripts/run-app.sh", "--server.port", str(port),
                                     "--server.address", "127.0.0.1", "--server.headless", "true",
                                     "--browser.gatherUsageStats", "false"],
                                    cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                base = f"http://127.0.0.1:{port}"
                while not _healthy(f"{base}/_stcore/health"):
                    if proc.poll() is not None or time.perf_counter() - t0 > timeout:
                        raise RuntimeError(f"server did not start; log: {(Path(tmp) / 'server.log').read_text()[-3000:]}")
                    time.sleep(0.05)
                t_server = time.perf_counter() - t0
                page.goto(base + "/")
                t_db = None
                while True:
                    if t_db is None and db.exists():
                        t_db = time.perf_counter() - t0
                    if page.evaluate(f"() => ({DONE})() && [...document.querySelectorAll('h1')]"
                                     ".some(h => h.textContent.includes('总览'))"):
                        break
                    if time.perf_counter() - t0 > timeout:
                        raise TimeoutError("总览 not usable in time")
                    page.wait_for_timeout(50)
                t_usable = time.perf_counter() - t0
                t_db = t_db if t_db is not None else t_usable
            finally:
                browser.close()
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(proc.pid, signal.SIGKILL)
                log.close()
    return {"server": t_server, "database": t_db, "usable": t_usable}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--port", type=int, default=8521)
    ap.add_argument("--rev", default="HEAD", help="the commit to clone (default: HEAD)")
    args = ap.parse_args(argv)
    runs = []
    for k in range(args.repeat):
        r = one_start(args.port, args.rev)
        runs.append(r)
        print(f"run {k + 1}: server answered {r['server']:.1f} s, demo database in place {r['database']:.1f} s, "
              f"总览 usable {r['usable']:.1f} s (load average {os.getloadavg()[0]:.1f})", flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}  first start, median of {args.repeat}: server answered "
          f"{med['server']:.1f} s, demo database in place {med['database']:.1f} s, 总览 usable {med['usable']:.1f} s "
          f"(target 20 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
