"""Storage: versions, duplicates, one transaction per load, several writers at once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import store
from pipelines.store import connect, make_current, original_path
from tests.factories import load_values

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path):
    return tmp_path / "s.duckdb"


def rows(db, sql, params=None):
    with connect(db) as con:
        return con.execute(sql, params or []).fetchall()


def test_resend_becomes_current_and_old_version_is_kept(db):
    r1 = load_values(db, "150200", "2019H1", {"I09": 5}, items=[{"item_name": "甲站", "item_type": "院士专家工作站",
                                                                 "indicator_code": "I09"}])
    r2 = load_values(db, "150200", "2019H1", {"I09": 6}, tag="v2")
    assert (r1.status, r1.version) == ("loaded", 1)
    assert (r2.status, r2.version) == ("loaded", 2)
    assert rows(db, "SELECT version, is_current FROM submissions ORDER BY version") == [(1, False), (2, True)]
    assert rows(db, "SELECT value FROM v_indicator_values") == [(6,)]
    # version 1 and its items are still stored; the public views show only version 2
    assert rows(db, "SELECT count(*) FROM items WHERE submission_id = ?", [r1.submission_id]) == [(1,)]
    assert rows(db, "SELECT count(*) FROM v_items") == [(0,)]
    events = rows(db, "SELECT submission_id, action FROM submission_events ORDER BY event_at, action")
    assert (r1.submission_id, "superseded") in events and (r2.submission_id, "loaded") in events


def test_same_file_twice_is_a_duplicate_not_a_new_version(db):
    r1 = load_values(db, "150200", "2019H1", {"I09": 5})
    r2 = load_values(db, "150200", "2019H1", {"I09": 5})
    assert r2.status == "duplicate" and r2.duplicate_of == r1.submission_id and r2.version == 1
    assert rows(db, "SELECT count(*) FROM submissions") == [(1,)]


def test_original_file_is_kept_by_hash_beside_the_database(db):
    r = load_values(db, "150200", "2019H1", {"I09": 5})
    digest = rows(db, "SELECT file_hash FROM submissions WHERE submission_id = ?", [r.submission_id])[0][0]
    path = original_path(db, digest)
    assert path is not None and path.parent.parent == db.with_name("s-files")
    assert path.read_bytes().startswith(b"150200|2019H1")


def test_make_current_restores_an_earlier_version_without_deleting(db):
    r1 = load_values(db, "150200", "2019H1", {"I09": 5})
    load_values(db, "150200", "2019H1", {"I09": 9}, tag="v2")
    make_current(db, r1.submission_id, who="管理员", note="第2版有误")
    assert rows(db, "SELECT value FROM v_indicator_values") == [(5,)]
    assert rows(db, "SELECT count(*) FROM submissions") == [(2,)]
    assert rows(db, "SELECT action, by_user, note FROM submission_events WHERE action = 'restored'") == \
        [("restored", "管理员", "第2版有误")]
    # the next load becomes version 3
    assert load_values(db, "150200", "2019H1", {"I09": 7}, tag="v3").version == 3


def test_failed_load_leaves_nothing_half_written(db, monkeypatch):
    load_values(db, "150100", "2019H1", {"I09": 1})
    before = rows(db, "SELECT count(*) FROM submissions UNION ALL SELECT count(*) FROM items "
                      "UNION ALL SELECT count(*) FROM indicator_values")

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_arrow_items", boom)
    with pytest.raises(RuntimeError):
        load_values(db, "150200", "2019H1", {"I09": 3}, items=[{"item_name": "x", "item_type": "院士专家工作站"}])
    after = rows(db, "SELECT count(*) FROM submissions UNION ALL SELECT count(*) FROM items "
                     "UNION ALL SELECT count(*) FROM indicator_values")
    assert after == before
    assert rows(db, "SELECT unit_code FROM v_submissions") == [("150100",)]


def test_twelve_threads_load_at_once_with_gapless_versions(db):
    store.init_db(db)
    errors = []

    def work(i):
        try:
            r = load_values(db, "150100", "2019H1", {"I09": i}, tag=f"t{i}")
            assert r.status == "loaded"
            load_values(db, "150200", "2019H1", {"I04": i}, tag=f"t{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for unit in ("150100", "150200"):
        versions = [v for (v,) in rows(db, "SELECT version FROM submissions WHERE unit_code = ? ORDER BY version", [unit])]
        assert versions == list(range(1, 13))
        assert rows(db, "SELECT count(*) FROM submissions WHERE unit_code = ? AND is_current", [unit]) == [(1,)]


def test_reader_waits_while_a_writer_holds_the_file(db):
    store.init_db(db)
    script = textwrap.dedent(f"""
        import duckdb, time, sys
        con = duckdb.connect({str(db)!r})
        print("held", flush=True)
        time.sleep(1.5)
        con.close()
    """)
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    said = []
    with connect(db, on_wait=said.append) as con:
        assert con.execute("SELECT count(*) FROM submissions").fetchone() == (0,)
    holder.wait()
    assert said and "数据库正忙" in said[0]


def test_sigkill_during_a_load_leaves_the_previous_state(db):
    load_values(db, "150100", "2019H1", {"I09": 1})
    marker = db.with_name("in_transaction")
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from pipelines import store
        from tests.factories import load_values
        real = store._arrow_items
        def slow(*a, **k):
            t = real(*a, **k)
            Path({str(marker)!r}).write_text("x")
            time.sleep(60)
            return t
        store._arrow_items = slow
        load_values(Path({str(db)!r}), "150200", "2019H1", {{"I09": 3}},
                    items=[{{"item_name": "x", "item_type": "院士专家工作站"}}])
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the load never reached its transaction"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert rows(db, "SELECT unit_code, version FROM submissions") == [("150100", 1)]
    assert rows(db, "SELECT count(*) FROM items") == [(0,)]
    r = load_values(db, "150200", "2019H1", {"I09": 3}, items=[{"item_name": "x", "item_type": "院士专家工作站"}])
    assert (r.status, r.version) == ("loaded", 1)


def test_migrations_are_recorded_and_idempotent(db):
    store.init_db(db)
    store.init_db(db)
    assert rows(db, "SELECT max(version) FROM schema_migrations") == [(store.SCHEMA_VERSION,)]


def test_public_views_have_the_documented_columns(db):
    load_values(db, "150200", "2019H1", {"I04": 1}, items=[{
        "item_name": "中俄项目", "item_type": "国际科技合作项目", "indicator_code": "I04", "sector_code": "S04",
        "partners": ["RUS", "CN-HK"], "start_date": date(2019, 1, 2), "status": "在建/在研", "funding_wan": 12.5}])
    with connect(db) as con:
        def cols(view):
            return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {view}").fetchall()]
        assert cols("v_indicator_values")[:4] == [("unit_code", "VARCHAR"), ("period_end", "DATE"),
                                                  ("indicator_code", "VARCHAR"), ("value", "BIGINT")]
        assert cols("v_items")[:11] == [
            ("unit_code", "VARCHAR"), ("period_end", "DATE"), ("item_name", "VARCHAR"), ("item_type", "VARCHAR"),
            ("indicator_code", "VARCHAR"), ("sector_code", "VARCHAR"), ("status", "VARCHAR"),
            ("is_live", "BOOLEAN"), ("start_date", "DATE"), ("funding_wan", "DOUBLE"), ("partners", "VARCHAR[]")]
        assert cols("v_item_partners")[:6] == [
            ("unit_code", "VARCHAR"), ("period_end", "DATE"), ("item_name", "VARCHAR"), ("item_type", "VARCHAR"),
            ("partner_code", "VARCHAR"), ("partner_kind", "VARCHAR")]
        assert con.execute("SELECT partners FROM v_items").fetchone() == (["RUS", "CN-HK"],)
        assert sorted(con.execute("SELECT partner_code, partner_kind FROM v_item_partners").fetchall()) == \
            [("CN-HK", "domestic"), ("RUS", "foreign")]


def test_issues_come_back_from_the_store_as_they_were_recorded(db):
    from pipelines import queries
    from pipelines.issues import Issue

    load_values(db, "150200", "2018H2", {"I09": 5})
    r = load_values(db, "150200", "2019H1", {"I09": 3})  # falls: a value-decreased warning
    assert [i.code for i in r.warnings] == ["value-decreased"]
    with connect(db) as con:
        back = queries.submission_issues(con, r.submission_id)
    assert [i.to_dict() for i in back] == [i.to_dict() for i in r.issues]
    assert back[0].params == {"ind": "I09", "number": 3, "previous": 5, "previous_period": "2018年下半年"}
    assert Issue.from_dict(back[0].to_dict()) == back[0]
