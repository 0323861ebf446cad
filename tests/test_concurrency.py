"""Twelve `pipelines.ingest` processes started at once on one database file (issue 3).

DuckDB lets one process hold a file for writing; pipelines/store/ queues
writers on a lock file and retries readers. None of the twelve may fail with
a lock error, and versions of one unit and period must be numbered 1..12
without gaps, exactly one of them current.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipelines.normalise import Period
from pipelines.reference import load_reference
from pipelines.store import connect
from pipelines.template import write_return

REPO = Path(__file__).resolve().parent.parent
PERIOD = Period("H", 2019, 1)
N = 12


def start_all(db: Path, files: list[Path]) -> list[tuple[int, dict, str]]:
    """Start one ingest process per file, all before waiting for any; (exit code, JSON, stderr) each."""
    procs = [subprocess.Popen([sys.executable, "-m", "pipelines.ingest", "--db", str(db), "--json", str(f)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in files]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append((p.returncode, json.loads(stdout) if stdout.strip() else {}, stderr))
    return out


def assert_all_loaded(results, files):
    for (code, report, stderr), f in zip(results, files):
        assert code == 0, f"{f.name}: exit {code}\n{stderr}"
        assert [r["status"] for r in report["files"]] == ["loaded"], (f.name, report)
        assert "Traceback" not in stderr and "BusyError" not in stderr and "IO Error" not in stderr, stderr
        assert "一直被占用" not in stderr, stderr  # store.BusyError's message: gave up waiting


def test_twelve_processes_at_once_on_one_database(tmp_path):
    db = tmp_path / "shared.duckdb"  # does not exist yet: the twelve also race to create it
    units = load_reference().unit_codes[:N]
    first = []
    for u in units:
        f = tmp_path / f"{u}.xlsx"
        f.write_bytes(write_return(unit_code=u, period=PERIOD, values={"I03": 0}, validation=False))
        first.append(f)
    results = start_all(db, first)
    assert_all_loaded(results, first)
    assert sorted(r["files"][0]["unit_code"] for _, r, _ in results) == sorted(units)
    with connect(db) as con:
        rows = con.execute("SELECT unit_code, version, is_current FROM submissions WHERE status = 'loaded' "
                           "ORDER BY unit_code").fetchall()
    assert rows == [(u, 1, True) for u in sorted(units)]

    # twelve different versions of one unit's return for one (new) period, all at once
    unit, period = "150200", Period("H", 2019, 2)
    again = []
    for k in range(N):
        f = tmp_path / f"v{k}.xlsx"
        f.write_bytes(write_return(unit_code=unit, period=period, values={"I03": 0, "I06": k + 1},
                                   validation=False))
        again.append(f)
    results = start_all(db, again)
    assert_all_loaded(results, again)
    versions = sorted(r["files"][0]["version"] for _, r, _ in results)
    with connect(db) as con:
        stored = con.execute("SELECT version, is_current FROM submissions WHERE unit_code = ? AND period_end = ? "
                             "AND status = 'loaded' ORDER BY version", [unit, period.end]).fetchall()
        current = con.execute("SELECT version FROM v_submissions WHERE unit_code = ? AND period_end = ?",
                              [unit, period.end]).fetchall()
    assert versions == list(range(1, N + 1))  # each process was told a different version
    assert [v for v, _ in stored] == list(range(1, N + 1))
    assert sum(c for _, c in stored) == 1 and current == [(N,)]  # the last to load is current
