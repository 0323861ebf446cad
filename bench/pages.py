"""Benchmark: each page's full script run against the raw queries it needs.

Fills a database with about 1,000,000 item rows (about twelve times the plan's
real volume: 13 units x 6 half-years, each return listing every item the unit
has so far) through the store's own load path, then for every page:

1. runs it once with AppTest (cold: fills the query cache) and records which
   ``pipelines.queries`` functions it called, with which arguments;
2. runs it again (warm cache) and takes the best of ``--repeat`` runs;
3. times those same query functions directly on a DuckDB connection (raw).

Target: every page under 2 x its raw query time + 150 ms, and none over 1 s.
The last line names the slowest page, its time and its ratio.

    python bench/pages.py [--rows 1000000] [--repeat 3] [--db PATH (reuse a filled one)]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipelines.checks import CheckedReturn  # noqa: E402
from pipelines.normalise import Period  # noqa: E402
from pipelines.reference import load_reference  # noqa: E402
from pipelines.store import connect, init_db, save_checked  # noqa: E402

PERIODS = [Period("H", y, n) for y in (2018, 2019, 2020) for n in (1, 2)]


def fill(db: Path, rows: int, seed: int = 11) -> int:
    """Load synthetic returns (through save_checked) until about ``rows`` item rows are current."""
    ref = load_reference()
    rng = np.random.default_rng(seed)
    units = ref.units["code"].tolist()
    types = ref.item_types
    per_unit = int(rows / (len(units) * sum(k + 1 for k in range(len(PERIODS))) / len(PERIODS)))
    foreign = ref.partners.loc[ref.partners["kind"] == "foreign", "code"].to_numpy()[:80]
    domestic = ref.partners.loc[ref.partners["kind"] == "domestic", "code"].to_numpy()
    sectors = ref.sectors["code"].to_numpy()
    statuses = ref.statuses["name"].to_numpy()
    live_of = dict(zip(ref.statuses["name"], ref.statuses["is_live"]))
    init_db(db)
    total = 0
    for u_i, unit in enumerate(units):
        n = per_unit
        t_idx = rng.integers(0, len(types), n)
        item_type = types["name"].to_numpy()[t_idx]
        indicator = types["indicator_code"].replace("", None).to_numpy()[t_idx]
        need = types["partner_required"].to_numpy()[t_idx]
        partners = [
            [str(rng.choice(foreign))] if nd == "foreign" else
            [str(rng.choice(domestic))] if nd == "domestic" else
            [str(rng.choice(foreign))] if nd == "any" else []
            for nd in need
        ]
        born = rng.integers(0, len(PERIODS), n)
        status = statuses[rng.integers(0, len(statuses), n)]
        base = pd.DataFrame({
            "item_name": [f"{unit}-事项{i:06d}" for i in range(n)],
            "item_type": item_type, "indicator_code": indicator,
            "sector_code": sectors[rng.integers(0, len(sectors), n)],
            "partners": partners,
            "partner_institutions": [f"合作单位{x}" for x in rng.integers(0, 400, n)],
            "local_institution": [f"承担单位{x}" for x in rng.integers(0, 200, n)],
            "start_date": [date(2018, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 1000, n)],
            "status": status, "is_live": [bool(live_of[s]) for s in status],
            "funding_wan": np.round(rng.uniform(1, 500, n), 1), "note": None,
        })
        for k, p in enumerate(PERIODS):
            items = base[born <= k].reset_index(drop=True).copy()
            items.insert(0, "row", np.arange(3, 3 + len(items)))
            values = items[items["is_live"]].groupby("indicator_code").size()
            ind = pd.DataFrame({"indicator_code": values.index, "value": values.to_numpy(),
                                "increase": None, "note": None, "row": np.arange(4, 4 + len(values))})
            ind["value"] = ind["value"].astype("Int64")
            ind["increase"] = ind["increase"].astype("Int64")
            ip = items[["row", "partners"]].explode("partners").dropna(subset=["partners"])
            ip = ip.rename(columns={"partners": "partner_code"})
            ip["partner_kind"] = np.where(ip["partner_code"].str.startswith("CN-"), "domestic", "foreign")
            tag = f"bench|{unit}|{p.code}".encode()
            checked = CheckedReturn(file_name=f"{unit}_{p.code}.xlsx", file_hash=hashlib.sha256(tag).hexdigest(),
                                    unit_code=unit, period=p, indicators=ind, items=items,
                                    item_partners=ip.reset_index(drop=True))
            r = save_checked(db, checked, tag, who="bench", source="bench", on_wait=None,
                             received_at=datetime.combine(p.end + timedelta(days=int(rng.integers(3, 30))),
                                                          datetime.min.time()))
            assert r.status == "loaded", r
            total += len(items)
        print(f"  filled {unit} ({u_i + 1}/{len(units)}), {total:,} item rows so far", file=sys.stderr)
    return total


def page_files() -> list[tuple[str, str]]:
    """(title, path) of every page the app's navigation lists and that exists."""
    import ast

    tree = ast.parse((REPO / "app.py").read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple) and len(node.elts) == 4 and all(isinstance(e, ast.Constant) for e in node.elts):
            f, title = node.elts[0].value, node.elts[1].value
            if str(f).startswith("pages/") and (REPO / f).exists():
                out.append((title, f))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--db", help="reuse this filled database instead of building one")
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="kjhz-bench-")
    db = Path(args.db) if args.db else Path(tmp) / "bench.duckdb"
    if not db.exists():
        t0 = time.perf_counter()
        n = fill(db, args.rows)
        print(f"filled {db} with {n:,} item rows in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    with connect(db) as con:
        n_items = con.execute("SELECT count(*) FROM items").fetchone()[0]
        n_current = con.execute("SELECT count(*) FROM v_items").fetchone()[0]
    os.environ["KJHZ_DB"] = str(db)

    import logging

    from streamlit.testing.v1 import AppTest

    import streamlit.runtime.scriptrunner_utils.script_run_context  # noqa: F401  (create its logger)

    for name in [n for n in logging.root.manager.loggerDict if n.startswith("streamlit")]:
        logging.getLogger(name).setLevel(logging.ERROR)

    import ui.common as common
    from pipelines import queries

    calls: list[tuple] = []
    real_run = common._run

    def recording_run(fn_name, key, dbp, a, kw):
        calls.append((fn_name, a, kw))
        return real_run(fn_name, key, dbp, a, kw)

    common._run = recording_run

    def run_page(path: str) -> tuple[float, object]:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
        at.run()
        at.switch_page(path)
        t0 = time.perf_counter()
        at.run()
        return time.perf_counter() - t0, at

    print(f"database: {n_items:,} item rows stored, {n_current:,} in current versions")
    print(f"{'page':<10} {'warm run ms':>12} {'raw queries ms':>15} {'ratio':>7} {'limit ms':>9}  ok")
    results = []
    for title, path in page_files():
        calls.clear()
        _, at = run_page(path)  # cold: fills the cache, records the queries
        if at.exception:
            print(f"{title:<10} FAILED: {at.exception[0].message[:200]}")
            results.append((title, float("inf"), 0.0))
            continue
        needed = list(dict.fromkeys((c[0], c[1], c[2]) for c in calls))
        warm = min(run_page(path)[0] for _ in range(args.repeat))
        raw_times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            with connect(db, on_wait=None) as con:
                for fn_name, a, kw in needed:
                    getattr(queries, fn_name)(con, *a, **dict(kw))
            raw_times.append(time.perf_counter() - t0)
        raw = min(raw_times)
        limit = 2 * raw + 0.150
        ok = warm <= limit and warm <= 1.0
        results.append((title, warm, raw))
        print(f"{title:<10} {warm * 1000:>12.0f} {raw * 1000:>15.0f} {warm / raw if raw else float('inf'):>6.2f}x "
              f"{limit * 1000:>9.0f}  {'yes' if ok else 'NO'}")
    slowest = max(results, key=lambda r: r[1])
    ratio = slowest[1] / slowest[2] if slowest[2] else float("inf")
    print(f"slowest page: {slowest[0]} {slowest[1] * 1000:.0f} ms, {ratio:.2f}x its raw query time "
          f"({slowest[2] * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
