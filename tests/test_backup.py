"""Backups taken while a load runs, restored into a new folder: the same public views, the same originals."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from pipelines import store
from pipelines.backup import PUBLIC_VIEWS, backup, check
from pipelines.restore import RestoreRefused, restore
from tests.dbfixtures import demo_db_copy
from tests.factories import make_user
from tests.test_upload_page import TODAY, return_bytes

REPO = Path(__file__).resolve().parent.parent


def views(db) -> dict[str, pd.DataFrame]:
    with store.connect(db) as con:
        return {v: con.execute(f"SELECT * FROM {v} ORDER BY ALL").df() for v in PUBLIC_VIEWS}


def _equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
        return True
    except AssertionError:
        return False


def originals(db) -> dict[str, bytes]:
    folder = store.files_dir(db)
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_backup_while_a_load_runs_then_restore_elsewhere(tmp_path):
    db = demo_db_copy(tmp_path)
    make_user(db, "admin1")
    big = tmp_path / "包头市_2020H2_大.xlsx"
    rows = [(f"合作事项{k:05d}", "院士专家工作站", "S04", [], None, "已建成/已认定", None) for k in range(8000)]
    from pipelines.normalise import parse_period
    big.write_bytes(return_bytes(period=parse_period("2020H2"), values={"I09": 8000}, rows=rows))
    before_views = views(db)
    load = subprocess.Popen([sys.executable, "-m", "pipelines.ingest", "--db", str(db), str(big)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until the load holds the writers' lock, then back up (the backup waits for the load to finish)
    lock = Path(str(db) + ".lock")
    from filelock import FileLock, Timeout
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with FileLock(str(lock), timeout=0):
                pass
        except Timeout:
            break  # held by the load
        time.sleep(0.02)
    folder = backup(db, tmp_path / "backups")
    out, err = load.communicate(timeout=300)
    assert load.returncode in (0, 1), err
    assert check(folder) == []

    after_views, files_now = views(db), originals(db)
    assert len(after_views["v_items"]) > len(before_views["v_items"]) + 7000  # the load went through (a new version)
    # a later load is not in the backup
    from pipelines.ingest import ingest_bytes
    assert ingest_bytes(db, return_bytes(unit="150100", period=parse_period("2020H2")), "later.xlsx",
                        who="x", today=TODAY).status == "loaded"

    target = tmp_path / "restored" / "kjhz.duckdb"
    restore(folder, target)
    got = views(target)
    # the snapshot is the database before the load or after it, whole: never half of it
    same = [all(got[v].equals(want[v]) or _equal(got[v], want[v]) for v in PUBLIC_VIEWS)
            for want in (before_views, after_views)]
    assert any(same), "restored views match neither the state before nor after the load"
    restored_files = originals(target)
    assert restored_files and all(files_now[k] == data for k, data in restored_files.items())  # byte-identical
    with store.connect(target) as con:  # every original the restored database names is there
        for (digest,) in con.execute("SELECT file_hash FROM submissions WHERE status = 'loaded'").fetchall():
            assert store.original_path(target, digest) is not None
    with store.connect(target) as con:
        assert con.execute("SELECT count(*) FROM users WHERE user_name = 'admin1'").fetchone()[0] == 1

    with pytest.raises(RestoreRefused, match="未覆盖"):
        restore(folder, target)
    restore(folder, target, force=True)
    assert list((target.parent / "archive").glob("before-restore-*/kjhz.duckdb"))


def test_check_finds_a_damaged_backup(tmp_path):
    db = demo_db_copy(tmp_path)
    folder = backup(db, tmp_path / "b")
    victim = next(p for p in folder.rglob("*.xlsx"))
    victim.write_bytes(victim.read_bytes() + b"x")
    assert any("文件内容与备份时不同" in p for p in check(folder))
    with pytest.raises(RestoreRefused, match="备份不完整"):
        restore(folder, tmp_path / "r" / "k.duckdb")


def test_backup_and_restore_commands(tmp_path):
    db = demo_db_copy(tmp_path)
    r = subprocess.run([sys.executable, "-m", "pipelines.backup", "--db", str(db), "--out", str(tmp_path / "b")],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0 and "已备份到" in r.stdout, r.stderr
    folder = next((tmp_path / "b").iterdir())
    r = subprocess.run([sys.executable, "-m", "pipelines.backup", "--check", str(folder)], capture_output=True,
                       text=True, cwd=REPO)
    assert r.returncode == 0 and "备份完整" in r.stdout
    r = subprocess.run([sys.executable, "-m", "pipelines.restore", "--from", str(folder), "--db", str(db)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1 and "未覆盖" in r.stderr


def test_archive_takes_a_backup_first_and_keeps_accounts_and_the_log(tmp_path):
    db = demo_db_copy(tmp_path)
    make_user(db, "admin1")
    folder = store.archive_database(db, "demo", who="测试")
    backups = list((tmp_path / "backups").glob("*-pre-archive"))
    assert len(backups) == 1 and check(backups[0]) == []
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM submissions").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM users").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'archive'").fetchone()[0] == 1
    assert str(tmp_path) not in folder.name


def test_a_schema_migration_backs_up_first(tmp_path):
    import duckdb

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))  # a database as the version before accounts made it
    con.execute("CREATE TABLE schema_migrations (version INTEGER, name VARCHAR, applied_at TIMESTAMP)")
    for version, name, sql in store.MIGRATIONS:
        if name.startswith("accounts"):
            break
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    con.close()
    store.init_db(db)
    (folder,) = list((tmp_path / "backups").glob("old-*-pre-migration"))
    assert check(folder) == []
    with store.connect(db) as con:
        assert store.table_exists(con, "users") and store.table_exists(con, "audit_log")


def test_viewing_can_require_a_login(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from pipelines.reference import load_reference

    db = demo_db_copy(tmp_path)
    auth = load_reference().settings.setdefault("auth", {})
    monkeypatch.setitem(auth, "viewing_requires_login", True)
    monkeypatch.setenv("KJHZ_DB", str(db))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("需要登录后查看" in i.value for i in at.info)
    assert not at.dataframe and not at.get("plotly_chart")
