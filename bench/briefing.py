"""Benchmark: the whole briefing pack (.docx + zip of PNGs) for the demo data.

Builds the demo database in a temporary folder (or uses ``--db``), then times
``python -m pipelines.briefing`` end to end as a scheduled job runs it (a fresh
process: imports, queries, one renderer started, every figure rendered in one
batch, the .docx and the zip written), and the pack built again inside a process
whose renderer is already warm (what the 简报 page's download does). Target: the
whole pack under 20 s on this 2-core machine.

    python bench/briefing.py [--db PATH] [--as-of 2020-12-31] [--unit 150200] [--repeat 3]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a database to use (default: the demo data, built in a temporary folder)")
    ap.add_argument("--as-of", default="2020-12-31")
    ap.add_argument("--unit", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from pipelines.demo import build_demo

            db = str(Path(tmp) / "demo.duckdb")
            t = time.perf_counter()
            build_demo(db)
            print(f"demo database built in {time.perf_counter() - t:.1f} s (not timed below)")
        cli = [sys.executable, "-m", "pipelines.briefing", "--db", db, "--as-of", args.as_of, "--out", tmp]
        if args.unit:
            cli += ["--unit", args.unit]
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            subprocess.run(cli, cwd=REPO, check=True, capture_output=True)
            times.append(time.perf_counter() - t)
        print(f"command line (fresh process, cold renderer): best {min(times):.1f} s, "
              f"runs {', '.join(f'{x:.1f}' for x in times)} s")

        from pipelines.briefing import pack_for
        from pipelines.figures.images import warm_up

        warm_up()
        warm = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            pack = pack_for(db, date.fromisoformat(args.as_of), args.unit)
            warm.append(time.perf_counter() - t)
        print(f"in a process with the renderer warm (the 简报 page): best {min(warm):.1f} s, "
              f"runs {', '.join(f'{x:.1f}' for x in warm)} s; {len(pack.figure_names)} figures, "
              f".docx {len(pack.docx) / 1e6:.1f} MB, zip {len(pack.zip) / 1e6:.1f} MB")
        print(f"briefing pack for the demo data: {min(times):.1f} s (target: under 20 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
