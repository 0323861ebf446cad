"""Benchmark: time and peak memory of the whole process tree, per hostile kind.

For each kind of hostile workbook (built here with tests/hostile_files.py, at
the sizes the issue reported: 90,000 cells reusing one 30,000-character
string, 15,000 unique 30,000-character names, a shared-strings part that
expands to 2.2 GB but declares 1,000 bytes, ...), runs the command line on it (``python -m pipelines.ingest
--dry-run --json FILE``) as a fresh process and, while it runs, samples every
process of its tree (the command line, the forkserver, the reader, the
resource tracker) from /proc every 10 ms. Prints per kind:

- seconds: the command line's wall time (about 1.5 s of it is starting Python
  and loading the reference data: compare with the valid returns);
- tree MB: the largest sum of resident memory (VmRSS) over the tree seen in
  one sample;
- bound MB: the sum over the tree of each process's own peak (VmHWM, kept by
  the kernel, so nothing between samples is missed; pages the forkserver and
  the reader share are counted twice, so this is an upper bound);
- the first message the file got.

The ceiling is 1 GB for the bound, for every kind.

With ``--server`` the files are checked the way the upload page does it
(``diff.check_upload``) inside this one long-lived process, which first
imports what the Streamlit server holds (streamlit, plotly, the pages'
modules) and keeps its reader warm between files: the tree is then this
process plus its reader, forkserver and resource tracker.

    python bench/hostile.py [--only KIND ...] [--keep DIR] [--server]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import hostile_files as h  # noqa: E402

CEILING_MB = 1024


def _memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in kB; (0, 0) once it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


class TreeWatch:
    """Samples a process and all its descendants until stopped."""

    def __init__(self, root: int, every: float = 0.01):
        self.root, self.every = root, every
        self.peak_kb = 0
        self.hwm_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid in h.process_tree(self.root):
                rss, hwm = _memory_kb(pid)
                total += rss
                if hwm:
                    self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), hwm)
            self.peak_kb = max(self.peak_kb, total)
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def kinds() -> dict[str, callable]:
    """name -> builder of the file's bytes."""
    def valid(n: int):
        def build():
            from bench.ingest import make_return
            return make_return(n)
        return build

    return {
        "valid return, 10,000 rows": valid(10_000),
        "valid return, 50,000 rows": valid(50_000),
        "one 30,000-character string in 90,000 cells": lambda: h.reused_string(90_000),
        "one 30,000-character string in 10,000 cells": lambda: h.reused_string(10_000),
        "15,000 unique 30,000-character names": lambda: h.unique_long_names(15_000),
        "15,000 unique long names, sizes declared 1 KB": lambda: h.declare_size(h.unique_long_names(15_000),
                                                                                 h.SST_PART, 1000),
        "2,000 unique long names, sizes declared 1 KB": lambda: h.declare_size(h.unique_long_names(2_000),
                                                                                h.SST_PART, 1000),
        "shared strings 2.2 GB, declared 1 KB": lambda: h.bomb(h.SST_PART, 2200, honest=False),
        "shared strings 400 MB, honest": lambda: h.bomb(h.SST_PART, 400),
        "styles 2.2 GB, declared 1 KB": lambda: h.bomb(h.STYLES_PART, 2200, honest=False),
        "workbook.xml 2.2 GB, declared 1 KB": lambda: h.bomb(h.WB_PART, 2200, honest=False),
        "workbook rels 2.2 GB, declared 1 KB": lambda: h.bomb(h.RELS_PART, 2200, honest=False),
        "[Content_Types] 2.2 GB, declared 1 KB": lambda: h.bomb("[Content_Types].xml", 2200, honest=False),
        "表2 sheet 2.2 GB, declared 1 KB": lambda: h.bomb(h.T2_PART, 2200, honest=False),
        "one 30,000-character name": lambda: h.long_cell("B", 30_000),
        "workbook.xml not UTF-8": lambda: h.non_utf8(h.WB_PART),
        "rels not UTF-8": lambda: h.non_utf8(h.RELS_PART),
        "rels deflate corrupt": lambda: h.corrupt_deflate(h.RELS_PART),
        "rels bad CRC": lambda: h.bad_crc(h.RELS_PART),
        "truncated zip": lambda: h.truncated(),
    }


def run(path: Path, db: Path) -> tuple[float, int, int, str]:
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.ingest", "--db", str(db), "--dry-run", "--json",
                             str(path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeWatch(proc.pid) as watch:
        out, err = proc.communicate()
    took = time.perf_counter() - t
    try:
        f = json.loads(out)["files"][0]
        msg = (f["errors"] or [{"message": f["status"]}])[0]["message"]
    except (ValueError, KeyError, IndexError):
        msg = f"(exit {proc.returncode}) {err.strip()[-200:]}"
    return took, watch.peak_kb // 1024, sum(watch.hwm_kb.values()) // 1024, msg


def run_in_server(data: bytes, name: str, db: Path) -> tuple[float, int, int, str]:
    from pipelines.diff import check_upload

    try:  # the peak so far (building the file) is not the check's: reset VmHWM
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    t = time.perf_counter()
    with TreeWatch(os.getpid()) as watch:
        pv = check_upload(db, data, name)
    took = time.perf_counter() - t
    msg = (pv.errors or [None])[0]
    return took, watch.peak_kb // 1024, sum(watch.hwm_kb.values()) // 1024, msg.message if msg else pv.status


def _as_server() -> None:
    """Load what the Streamlit server process holds before any upload."""
    import plotly.graph_objects  # noqa: F401
    import streamlit  # noqa: F401

    import pipelines.diff  # noqa: F401
    import pipelines.figures  # noqa: F401
    import pipelines.queries  # noqa: F401
    from pipelines.diff import check_upload
    from pipelines.reference import load_reference

    load_reference()
    check_upload(Path(tempfile.mkdtemp()) / "none.duckdb", h.valid_return(), "warm.xlsx")  # the reader, warm


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", help="kinds whose name contains one of these words")
    ap.add_argument("--keep", help="folder to keep the generated files in")
    ap.add_argument("--server", action="store_true", help="check in this process, as the upload page does")
    args = ap.parse_args()
    if args.server:
        _as_server()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    print(f"{'kind':48s} {'file MB':>8s} {'seconds':>8s} {'tree MB':>8s} {'bound MB':>9s}  message")
    for k, (name, build) in enumerate(kinds().items()):
        if args.only and not any(w in name for w in args.only):
            continue
        path = folder / f"{k:02d}.xlsx"
        data = build()
        path.write_bytes(data)
        if args.server:
            took, peak, bound, msg = run_in_server(data, path.name, folder / "none.duckdb")
        else:
            took, peak, bound, msg = run(path, folder / "none.duckdb")
        del data
        rows.append((name, bound))
        print(f"{name:48s} {path.stat().st_size / 2**20:8.2f} {took:8.2f} {peak:8d} {bound:9d}  {msg[:90]}", flush=True)
        if not args.keep:
            path.unlink()
    worst = max(rows, key=lambda r: r[1]) if rows else ("-", 0)
    verdict = "below" if worst[1] < CEILING_MB else "ABOVE"
    print(f"highest bound: {worst[1]} MB ({worst[0]}), {verdict} the {CEILING_MB} MB ceiling")
    return 0 if worst[1] < CEILING_MB else 1


if __name__ == "__main__":
    sys.exit(main())
