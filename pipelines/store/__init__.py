"""DuckDB storage: versioned schema, one transaction per load, public views.

The whole state is the database file plus the folder of original files
beside it (``<db stem>-files/``, one file per content hash). Every load is a
new submission; a re-sent return for the same unit and period becomes the
current version and the earlier one is kept. Nothing is ever deleted.

DuckDB lets one process hold a file for writing. Connections here are short
(open, work, close), writers queue on a lock file beside the database, and a
connection that finds the file busy waits and retries with a message.
"""
from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from filelock import FileLock, Timeout

from .. import audit
from ..accounts import ARCHIVE, LOAD, RESTORE, Account, as_actor, require
from ..checks import CheckedReturn, removal_issue, removed_items, value_decreases
from ..issues import ERROR, HasIssues, Issue
from ..read import DEFAULT_LIMITS
from ..vocab import DEFAULT_DB  # noqa: F401  (where the database is unless told: KJHZ_DB or var/)

BUSY_TIMEOUT = float(os.environ.get("KJHZ_BUSY_TIMEOUT", "120"))

# --------------------------------------------------------------------------
# Schema: append a migration, never edit an applied one.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema", """
    CREATE TABLE submissions (
        submission_id BIGINT NOT NULL,
        unit_code VARCHAR, period_code VARCHAR, period_kind VARCHAR,
        period_start DATE, period_end DATE, version INTEGER,
        file_name VARCHAR NOT NULL, file_hash VARCHAR NOT NULL, file_size BIGINT,
        received_at TIMESTAMP NOT NULL, received_by VARCHAR, source VARCHAR,
        status VARCHAR NOT NULL,            -- loaded | rejected
        is_current BOOLEAN NOT NULL DEFAULT FALSE,
        n_errors INTEGER, n_warnings INTEGER,
        filler VARCHAR, phone VARCHAR, fill_date DATE, plan_id VARCHAR
    );
    CREATE TABLE submission_events (
        submission_id BIGINT NOT NULL, action VARCHAR NOT NULL,  -- loaded | superseded | restored | rejected
        event_at TIMESTAMP NOT NULL, by_user VARCHAR, note VARCHAR
    );
    CREATE TABLE indicator_values (
        submission_id BIGINT NOT NULL, indicator_code VARCHAR NOT NULL,
        value BIGINT, increase BIGINT, note VARCHAR, source_row INTEGER
    );
    CREATE TABLE items (
        submission_id BIGINT NOT NULL, source_row INTEGER,
        item_name VARCHAR, item_type VARCHAR, indicator_code VARCHAR, sector_code VARCHAR,
        partners VARCHAR[], partner_institutions VARCHAR, local_institution VARCHAR,
        start_date DATE, status VARCHAR, is_live BOOLEAN, funding_wan DOUBLE, note VARCHAR
    );
    CREATE TABLE item_partners (
        submission_id BIGINT NOT NULL, source_row INTEGER,
        partner_code VARCHAR, partner_kind VARCHAR
    );
    CREATE TABLE issues (
        submission_id BIGINT NOT NULL, severity VARCHAR, code VARCHAR, sheet VARCHAR,
        row_no INTEGER, column_name VARCHAR, value VARCHAR, message VARCHAR, suggestion VARCHAR
    );
    CREATE TABLE meta (key VARCHAR NOT NULL, value VARCHAR);
    """),
    (2, "public views", """
    CREATE OR REPLACE VIEW v_submissions AS
        SELECT * FROM submissions WHERE status = 'loaded' AND is_current;
    CREATE OR REPLACE VIEW v_indicator_values AS
        SELECT s.unit_code, s.period_end, v.indicator_code, v.value,
               v.increase, s.period_code, s.submission_id, s.version, v.source_row
        FROM indicator_values v JOIN v_submissions s USING (submission_id)
        WHERE v.value IS NOT NULL;
    CREATE OR REPLACE VIEW v_items AS
        SELECT s.unit_code, s.period_end, i.item_name, i.item_type, i.indicator_code,
               i.sector_code, i.status, i.is_live, i.start_date, i.funding_wan, i.partners,
               i.partner_institutions, i.local_institution, i.note,
               s.period_code, s.submission_id, s.version, s.file_name, i.source_row
        FROM items i JOIN v_submissions s USING (submission_id);
    CREATE OR REPLACE VIEW v_item_partners AS
        SELECT s.unit_code, s.period_end, i.item_name, i.item_type, p.partner_code, p.partner_kind,
               i.indicator_code, i.sector_code, i.is_live, i.funding_wan,
               s.submission_id, i.source_row
        FROM item_partners p
        JOIN items i ON i.submission_id = p.submission_id AND i.source_row = p.source_row
        JOIN v_submissions s ON s.submission_id = p.submission_id;
    """),
    (3, "issue parameters", """
    ALTER TABLE issues ADD COLUMN params VARCHAR;  -- JSON: what the message was rendered from
    """),
    (4, "accounts, audit log, administration overrides", """
    CREATE TABLE users (
        user_name VARCHAR NOT NULL, display_name VARCHAR, role VARCHAR NOT NULL, unit_code VARCHAR,
        password_hash VARCHAR, disabled BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TIMESTAMP, created_by VARCHAR, last_login_at TIMESTAMP,
        failed_count INTEGER DEFAULT 0, last_failed_at TIMESTAMP, locked_until TIMESTAMP,
        oidc_subject VARCHAR
    );
    CREATE SEQUENCE audit_seq START 1;
    CREATE TABLE audit_log (
        event_id BIGINT NOT NULL, event_at TIMESTAMP NOT NULL, account VARCHAR, role VARCHAR,
        action VARCHAR NOT NULL, unit_code VARCHAR, object VARCHAR, before VARCHAR, after VARCHAR,
        detail VARCHAR, source VARCHAR
    );
    INSERT INTO audit_log
        SELECT nextval('audit_seq'), event_at, by_user, NULL, action, unit_code, object, NULL, NULL, note, source
        FROM (SELECT e.event_at, e.by_user, e.action, s.unit_code, s.source, e.note,
                     concat_ws(' ', s.period_code, CASE WHEN s.version IS NULL THEN NULL
                                                        ELSE '第' || s.version || '版' END, s.file_name) AS object
              FROM submission_events e LEFT JOIN submissions s USING (submission_id)
              ORDER BY e.event_at, e.submission_id);
    CREATE TABLE setting_overrides (
        key VARCHAR NOT NULL, value VARCHAR, changed_at TIMESTAMP, changed_by VARCHAR
    );
    CREATE TABLE alias_overrides (
        field VARCHAR NOT NULL, alias VARCHAR NOT NULL, code VARCHAR NOT NULL,
        added_at TIMESTAMP, added_by VARCHAR
    );
    CREATE TABLE plan_overrides (
        plan_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,  -- baseline | target | allocation
        indicator_code VARCHAR NOT NULL, unit_code VARCHAR, value DOUBLE,
        changed_at TIMESTAMP, changed_by VARCHAR
    );
    """),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def files_dir(db_path: Path | str) -> Path:
    p = Path(db_path)
    return p.with_name(p.stem + "-files")


def _is_busy(exc: Exception) -> bool:
    msg = str(exc).lower()
    return ("lock" in msg or "different configuration" in msg or "being used" in msg
            or "resource temporarily unavailable" in msg)


def _say_waiting(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextmanager
def connect(db_path: Path | str, *, write: bool = False, timeout: float | None = None,
            on_wait: Callable[[str], None] | None = _say_waiting) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection; waits (and says so) while another process holds the file.
    Inside ``held(db_path)`` (this process keeps the file open for a series of loads): a cursor
    of the connection held."""
    db_path = Path(db_path)
    held_con = _HELD.get(str(db_path.resolve())) if _HELD else None
    if held_con is not None:
        cur = held_con.cursor()
        try:
            yield cur
        finally:
            cur.close()
        return
    timeout = BUSY_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    lock = FileLock(str(db_path) + ".lock") if write else None
    if lock is not None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0.05)
        except Timeout:
            if on_wait:
                on_wait("数据库正被另一个写入任务使用，正在等待…")
            try:
                lock.acquire(timeout=max(0.1, deadline - time.monotonic()))
            except Timeout as exc:
                raise BusyError("数据库一直被占用，请稍后再试") from exc
    told = False
    delay = 0.02
    try:
        while True:
            try:
                con = duckdb.connect(str(db_path), read_only=not write)
                break
            except (duckdb.IOException, duckdb.ConnectionException, duckdb.InvalidInputException) as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    if _is_busy(exc):
                        raise BusyError("数据库一直被占用，请稍后再试") from exc
                    raise
                if not told and on_wait:
                    on_wait("数据库正忙（另一个程序正在使用），稍后自动重试…")
                    told = True
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        try:
            yield con
        finally:
            con.close()
    finally:
        if lock is not None:
            lock.release()


class BusyError(RuntimeError):
    """The database stayed busy for longer than the timeout."""


_HELD: dict[str, duckdb.DuckDBPyConnection] = {}  # resolved path -> the connection ``held`` keeps open


@contextmanager
def held(db_path: Path | str) -> Iterator[None]:
    """Keep one writing connection to ``db_path`` open (and its file lock taken) while a series
    of loads runs in this process, e.g. the ~80 returns of the demo build: each ``connect`` in
    between gets a cursor of it instead of opening the file, reading its catalogue, and
    writing a checkpoint on close. Each load is still its own transaction."""
    db_path = Path(db_path)
    key = str(db_path.resolve())
    with connect(db_path, write=True) as con:
        _HELD[key] = con
        try:
            yield
        finally:
            del _HELD[key]


_READY: set[tuple[str, int]] = set()  # (path, inode) whose schema this process has checked


def init_db(db_path: Path | str) -> None:
    """Create the database (and its files folder) or bring its schema up to date."""
    db_path = Path(db_path)
    if db_path.exists() and (str(db_path.resolve()), db_path.stat().st_ino) in _READY:
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    files_dir(db_path).mkdir(parents=True, exist_ok=True)
    if db_path.exists():
        try:
            with connect(db_path) as con:
                if _schema_version(con) >= SCHEMA_VERSION:
                    _READY.add((str(db_path.resolve()), db_path.stat().st_ino))
                    return
        except duckdb.Error:
            pass
    if db_path.exists():
        _backup_before(db_path, "pre-migration")
    with connect(db_path, write=True) as con:
        migrate(con)
    _READY.add((str(db_path.resolve()), db_path.stat().st_ino))


def _backup_before(db_path: Path, why: str) -> Path | None:
    """An automatic backup under ``<db dir>/backups/`` before a schema change or an archive."""
    from ..backup import backup

    try:
        size = db_path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    return backup(db_path, db_path.parent / "backups", label=why)


def _schema_version(con) -> int:
    if not table_exists(con, "schema_migrations"):
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(con) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER, name VARCHAR, applied_at TIMESTAMP)")
    current = _schema_version(con)
    for version, name, sql in MIGRATIONS:
        if version <= current:
            continue
        con.execute("BEGIN")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
            if table_exists(con, "audit_log"):
                audit.record(con, None, "migration", object=f"数据库结构第{version}版", detail=name, source="system")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


# --------------------------------------------------------------------------
def store_original(db_path: Path | str, data: bytes, digest: str, file_name: str) -> Path:
    """Keep the uploaded bytes under their content hash (atomic, idempotent)."""
    suffix = Path(file_name).suffix.lower() or ".bin"
    folder = files_dir(db_path) / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}{suffix}"
    if not target.exists():
        tmp = target.with_name(f".{digest}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def cleanup_rejected_originals(db_path: Path | str, days: float | None = None,
                               now: datetime | None = None) -> list[Path]:
    """Delete originals that only rejected submissions refer to, received more
    than ``days`` ago (data/settings.yaml ``rejected_retention_days``); files
    nothing refers to go after the same time by their modification time. A file
    any loaded submission refers to (current or not) is never deleted. Runs
    under the writers' lock, so no load can start using a file being deleted;
    when the database is busy or absent it does nothing. Returns what it deleted.
    """
    db_path = Path(db_path)
    folder = files_dir(db_path)
    if not db_path.exists() or not folder.is_dir():
        return []
    if days is None:
        from ..vocab import rejected_retention_days
        days = rejected_retention_days()
    cutoff = (now or datetime.now()) - pd.Timedelta(days=days)
    deleted: list[Path] = []
    try:
        with connect(db_path, write=True, timeout=2, on_wait=None) as con:
            if not table_exists(con, "submissions"):
                return []
            rows = con.execute("SELECT file_hash, bool_or(status = 'loaded'), max(received_at) "
                               "FROM submissions GROUP BY file_hash").fetchall()
            known = {h: (loaded, last) for h, loaded, last in rows}
            for f in folder.glob("??/*"):
                if not f.is_file() or f.name.startswith("."):
                    continue
                digest = f.name.split(".", 1)[0]
                hit = known.get(digest)
                if hit is not None:
                    loaded, last = hit
                    old = not loaded and last is not None and last < cutoff
                else:
                    old = datetime.fromtimestamp(f.stat().st_mtime) < cutoff
                if old:
                    f.unlink()
                    deleted.append(f)
    except (BusyError, duckdb.Error, OSError):
        return deleted  # best effort: the next start tries again
    return deleted


def original_path(db_path: Path | str, digest: str) -> Path | None:
    folder = files_dir(db_path) / digest[:2]
    hits = sorted(folder.glob(f"{digest}.*")) if folder.exists() else []
    return hits[0] if hits else None


@dataclass
class LoadResult(HasIssues):
    file: str
    status: str  # loaded | rejected | duplicate | checked (dry run)
    unit_code: str | None
    period_end: date | None
    version: int | None
    issues: list[Issue]
    submission_id: int | None = None
    duplicate_of: int | None = None
    # items of the replaced current version this file no longer lists (names); a load removes them
    removed_items: list[str] = field(default_factory=list)


def previous_values(con, unit_code: str, period_end: date) -> pd.DataFrame:
    """A unit's latest current value per indicator from periods ending before ``period_end``
    (indicator_code, value, period_end, period_code)."""
    return con.execute("""
        SELECT indicator_code, value, period_end, period_code FROM (
            SELECT *, row_number() OVER (PARTITION BY indicator_code ORDER BY period_end DESC) AS rn
            FROM v_indicator_values WHERE unit_code = ? AND period_end < ?)
        WHERE rn = 1""", [unit_code, period_end]).df()


def current_items(con, unit_code: str, period_end: date) -> tuple[int | None, pd.DataFrame]:
    """The current version of a unit's return for a period: (its version, its items' item_name and
    item_type in file order); (None, empty) when there is none."""
    row = con.execute("SELECT submission_id, version FROM v_submissions WHERE unit_code = ? AND period_end = ?",
                      [unit_code, period_end]).fetchone()
    if row is None:
        return None, pd.DataFrame(columns=["item_name", "item_type"])
    items = con.execute("SELECT item_name, item_type FROM items WHERE submission_id = ? ORDER BY source_row",
                        [row[0]]).df()
    return row[1], items


def history_issues(con, checked: CheckedReturn) -> list[Issue]:
    """The checks that need what is already loaded (checks.value_decreases), fed from the database."""
    if checked.unit_code is None or checked.period is None or checked.indicators is None:
        return []
    if not table_exists(con, "v_indicator_values"):
        return []
    return value_decreases(checked, previous_values(con, checked.unit_code, checked.period.end))


def table_exists(con, name: str) -> bool:
    """Whether the database has a table or view of this name (a database not yet set up has none)."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0])


def find_loaded(con, digest: str) -> tuple[int, int] | None:
    row = con.execute("SELECT submission_id, version FROM submissions WHERE file_hash = ? AND status = 'loaded' "
                      "ORDER BY submission_id LIMIT 1", [digest]).fetchone()
    return (row[0], row[1]) if row else None


def next_version(con, unit_code: str, period_end: date) -> int:
    return con.execute("SELECT coalesce(max(version), 0) + 1 FROM submissions WHERE unit_code = ? AND period_end = ? "
                       "AND status = 'loaded'", [unit_code, period_end]).fetchone()[0]


def _arrow_items(sid: int, items: pd.DataFrame) -> pa.Table:
    """Items as an Arrow table for DuckDB to scan (object columns hold str/None)."""
    n = len(items)

    def text(col: str) -> pa.Array:  # Arrow-backed columns pass through without a copy
        return pa.array(items[col], pa.string(), from_pandas=True)

    return pa.table({
        "submission_id": pa.array(np.full(n, sid, dtype=np.int64)),
        "source_row": pa.array(items["row"].to_numpy(), pa.int32()),
        "item_name": text("item_name"),
        "item_type": text("item_type"),
        "indicator_code": text("indicator_code"),
        "sector_code": text("sector_code"),
        "partners": pa.array(items["partners"].tolist(), pa.list_(pa.string())),
        "partner_institutions": text("partner_institutions"),
        "local_institution": text("local_institution"),
        "start_date": pa.array(items["start_date"].tolist(), pa.date32()),
        "status": text("status"),
        "is_live": pa.array(items["is_live"].to_numpy(), pa.bool_()),
        "funding_wan": pa.array(items["funding_wan"].to_numpy(), pa.float64(), from_pandas=True),
        "note": text("note"),
    })


def _nullable(col: pd.Series) -> list:
    return [None if pd.isna(x) else int(x) for x in col.tolist()]


def _insert_issues(con, sid: int, issues: list[Issue]) -> None:
    if not issues:
        return
    rows = [i.to_dict() for i in issues]
    df = pd.DataFrame({
        "submission_id": sid, "severity": [d["severity"] for d in rows], "code": [d["code"] for d in rows],
        "sheet": [d["sheet"] for d in rows], "row_no": pd.array([d["row"] for d in rows], dtype="Int64"),
        "column_name": [d["column"] for d in rows], "value": [d["value"] for d in rows],
        "message": [d["message"] for d in rows], "suggestion": [d["suggestion"] for d in rows],
        "params": [json.dumps(d["params"], ensure_ascii=False) for d in rows],
    })
    con.register("_issues_df", df)
    con.execute("INSERT INTO issues (submission_id, severity, code, sheet, row_no, column_name, value, message, "
                "suggestion, params) SELECT submission_id, severity, code, sheet, row_no, column_name, value, "
                "message, suggestion, params FROM _issues_df")
    con.unregister("_issues_df")


def _new_id(con) -> int:
    return con.execute("SELECT coalesce(max(submission_id), 0) + 1 FROM submissions").fetchone()[0]


NOT_KEPT = {"file-too-large", "part-too-large"}  # codes of files refused for their size: never stored


def save_checked(db_path: Path | str, checked: CheckedReturn, data: bytes, *, who: Account | str | None = None,
                 source: str = "cli", dry_run: bool = False, record_rejected: bool = True,
                 received_at: datetime | None = None, refuse_removals: bool = False,
                 on_wait: Callable[[str], None] | None = _say_waiting) -> LoadResult:
    """Load a checked return as the new current version, in one transaction.

    The result's ``removed_items`` names the items of the replaced current version the file no
    longer lists (a load removes them from the figures). With ``refuse_removals`` such a load is
    refused instead (status "rejected", an ``items-removed`` error, nothing written).

    ``who`` is the acting account. From the web (``source="web"``) it must be
    a logged-in ``Account`` allowed to send returns for the file's own
    填报单位 (``PermissionDenied`` otherwise, nothing written); a plain name
    is a command-line run on the server. 报送人 is the account's name.
    """
    db_path = Path(db_path)
    actor = None if who is None and source == "web" else as_actor(who if who is not None else Account.local())
    issues = list(checked.report.issues)
    base = dict(file=checked.file_name, unit_code=checked.unit_code, period_end=checked.period_end)
    if len(data) > DEFAULT_LIMITS.max_file_bytes or any(i.code in NOT_KEPT for i in issues):
        # refused for its size: nothing of it is written, neither the original nor a row
        return LoadResult(status="rejected", version=None, issues=issues, **base)
    if dry_run and not db_path.exists():
        errors = [i for i in issues if i.severity == "error"]
        return LoadResult(status="rejected" if errors else "checked", version=None if errors else 1,
                          issues=issues, **base)
    init_db(db_path)
    with connect(db_path, write=not dry_run, on_wait=on_wait) as con:
        if not dry_run:
            actor = require(con, actor, LOAD, checked.unit_code)
            if not actor.is_local:
                who = actor.user_name
        dup = find_loaded(con, checked.file_hash)
        if dup is not None:
            return LoadResult(status="duplicate", version=dup[1], issues=issues, duplicate_of=dup[0], **base)
        issues += history_issues(con, checked)
        errors = [i for i in issues if i.severity == ERROR]
        removed: list[str] = []
        if not errors and checked.unit_code and checked.period_end:
            prev_version, before = current_items(con, checked.unit_code, checked.period_end)
            removed = removed_items(before, checked)
            base["removed_items"] = removed
            if removed and refuse_removals:
                issues.append(removal_issue(removed, prev_version))
                return LoadResult(status="rejected", version=None, issues=issues, **base)
        if dry_run:
            version = None if errors else next_version(con, checked.unit_code, checked.period_end)
            return LoadResult(status="rejected" if errors else "checked", version=version, issues=issues, **base)
        if errors and not record_rejected:
            return LoadResult(status="rejected", version=None, issues=issues, **base)
        store_original(db_path, data, checked.file_hash, checked.file_name)
        now = received_at or datetime.now()
        p = checked.period
        con.execute("BEGIN TRANSACTION")
        try:
            sid = _new_id(con)
            version = None
            if not errors:
                version = next_version(con, checked.unit_code, checked.period_end)
            cover = checked.cover
            con.execute(
                "INSERT INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [sid, checked.unit_code, p.code if p else None, p.kind if p else None,
                 p.start if p else None, p.end if p else None, version, checked.file_name,
                 checked.file_hash, len(data), now, who, source, "rejected" if errors else "loaded",
                 False, len(errors), len(issues) - len(errors), cover.get("filler"), cover.get("phone"),
                 cover.get("fill_date"), None])
            _insert_issues(con, sid, issues)
            what = " ".join(x for x in (p.code if p else None, f"第{version}版" if version else None,
                                        checked.file_name) if x)
            if errors:
                con.execute("INSERT INTO submission_events VALUES (?, 'rejected', ?, ?, NULL)", [sid, now, who])
                audit.record(con, actor, "rejected", unit_code=checked.unit_code, object=what, at=now,
                             detail=f"{len(errors)}个错误，{len(issues) - len(errors)}个提示", source=source)
                con.execute("COMMIT")
                return LoadResult(status="rejected", version=None, issues=issues, submission_id=sid, **base)
            old = con.execute("SELECT submission_id FROM submissions WHERE unit_code = ? AND period_end = ? "
                              "AND is_current", [checked.unit_code, checked.period_end]).fetchall()
            con.execute("UPDATE submissions SET is_current = FALSE WHERE unit_code = ? AND period_end = ? "
                        "AND is_current", [checked.unit_code, checked.period_end])
            for (o,) in old:
                con.execute("INSERT INTO submission_events VALUES (?, 'superseded', ?, ?, ?)",
                            [o, now, who, f"被第{version}版取代"])
            con.execute("UPDATE submissions SET is_current = TRUE WHERE submission_id = ?", [sid])
            con.execute("INSERT INTO submission_events VALUES (?, 'loaded', ?, ?, NULL)", [sid, now, who])
            was = _version_word(con, old[0][0]) if old else "（无）"
            audit.record(con, actor, "loaded", unit_code=checked.unit_code, object=what, before=f"当前版本：{was}",
                         after=f"当前版本：第{version}版", at=now, source=source,
                         detail="；".join(x for x in (f"{len(issues)}个提示" if issues else "",
                                                     f"删除事项{len(removed)}项" if removed else "") if x) or None)
            ind = checked.indicators if checked.indicators is not None else pd.DataFrame(
                columns=["indicator_code", "value", "increase", "note", "row"])
            ind_tbl = pa.table({
                "submission_id": pa.array([sid] * len(ind), pa.int64()),
                "indicator_code": pa.array(ind["indicator_code"].tolist(), pa.string()),
                "value": pa.array(_nullable(ind["value"]), pa.int64()),
                "increase": pa.array(_nullable(ind["increase"]), pa.int64()),
                "note": pa.array([None if pd.isna(x) else x for x in ind["note"].tolist()], pa.string()),
                "source_row": pa.array(ind["row"].tolist(), pa.int32()),
            })
            con.execute("INSERT INTO indicator_values SELECT * FROM ind_tbl")
            if checked.items is not None and len(checked.items):
                items_tbl = _arrow_items(sid, checked.items)  # noqa: F841 (scanned by DuckDB)
                con.execute("INSERT INTO items SELECT * FROM items_tbl")
                ip = checked.item_partners
                ip_tbl = pa.table({  # noqa: F841
                    "submission_id": pa.array([sid] * len(ip), pa.int64()),
                    "source_row": pa.array(ip["row"].to_numpy(), pa.int32()),
                    "partner_code": pa.array(ip["partner_code"].tolist(), pa.string()),
                    "partner_kind": pa.array(ip["partner_kind"].tolist(), pa.string()),
                })
                con.execute("INSERT INTO item_partners SELECT * FROM ip_tbl")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return LoadResult(status="loaded", version=version, issues=issues, submission_id=sid, **base)


def make_current(db_path: Path | str, submission_id: int, who: Account | str | None = None,
                 note: str | None = None) -> None:
    """Make an earlier loaded version current again (recorded; nothing deleted). Administrators only.

    ``who``: the logged-in ``Account`` (pages), or a name for a run on the server; None is refused.
    """
    with connect(db_path, write=True) as con:
        row = con.execute("SELECT unit_code, period_end, status, period_code, version, file_name FROM submissions "
                          "WHERE submission_id = ?", [submission_id]).fetchone()
        actor = require(con, as_actor(who), RESTORE, row[0] if row else None)
        who = actor.user_name
        if row is None or row[2] != "loaded":
            raise ValueError("只能恢复已成功入库的版本")
        now = datetime.now()
        con.execute("BEGIN TRANSACTION")
        try:
            old = con.execute("SELECT submission_id FROM submissions WHERE unit_code = ? AND period_end = ? "
                              "AND is_current AND submission_id <> ?", [row[0], row[1], submission_id]).fetchall()
            con.execute("UPDATE submissions SET is_current = FALSE WHERE unit_code = ? AND period_end = ? AND is_current",
                        [row[0], row[1]])
            con.execute("UPDATE submissions SET is_current = TRUE WHERE submission_id = ?", [submission_id])
            for (o,) in old:
                con.execute("INSERT INTO submission_events VALUES (?, 'superseded', ?, ?, ?)", [o, now, who, note])
            con.execute("INSERT INTO submission_events VALUES (?, 'restored', ?, ?, ?)", [submission_id, now, who, note])
            was = _version_word(con, old[0][0]) if old else "（无）"
            audit.record(con, actor, "restored", unit_code=row[0], object=f"{row[3]} {row[5]}", at=now,
                         before=f"当前版本：{was}", after=f"当前版本：第{row[4]}版", detail=note)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def _version_word(con, submission_id: int) -> str:
    v = con.execute("SELECT version FROM submissions WHERE submission_id = ?", [submission_id]).fetchone()
    return f"第{v[0]}版" if v and v[0] is not None else "未编号"


def set_meta(db_path: Path | str, key: str, value: str | None) -> None:
    with connect(db_path, write=True) as con:
        con.execute("DELETE FROM meta WHERE key = ?", [key])
        if value is not None:
            con.execute("INSERT INTO meta VALUES (?, ?)", [key, value])


def get_meta(con, key: str) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def data_version(db_path: Path | str) -> tuple:
    """Changes whenever the database file changes: a cache key for pages."""
    p = Path(db_path)
    out = []
    for f in (p, p.with_name(p.name + ".wal")):
        try:
            st = f.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def archive_path(db_path: Path | str, label: str) -> Path:
    """A new, unused ``<db dir>/archive/<label>-<timestamp>[-n]/`` (not created)."""
    db_path = Path(db_path)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label) or "archive"
    base = db_path.parent / "archive" / f"{safe}-{datetime.now():%Y%m%d-%H%M%S}"
    target, n = base, 1
    while target.exists():
        n += 1
        target = base.with_name(f"{base.name}-{n}")
    return target


def archive_database(db_path: Path | str, label: str, who: Account | str | None = None) -> Path:
    """Set the database aside and start an empty one in its place; nothing is deleted.

    The database file, its WAL and its files folder move (rename, same disk)
    to ``<db dir>/archive/<label>-<timestamp>/``, under the writers' lock so
    no load is cut in half; a fresh, empty database is then created at
    ``db_path``. Returns the archive folder. Administrators only (``who`` as
    for ``make_current``); accounts and the audit log continue in the new
    database, and a backup is taken first.
    """
    db_path = Path(db_path)
    with connect(db_path, write=True) as con:  # refused before anything moves
        actor = require(con, as_actor(who), ARCHIVE)
        audit.record(con, actor, "archive", object=label, detail="数据库整体移入 archive/ 文件夹（未删除）")
    _backup_before(db_path, "pre-archive")
    target = archive_path(db_path, label)
    lock = FileLock(str(db_path) + ".lock")
    try:
        lock.acquire(timeout=BUSY_TIMEOUT)
    except Timeout as exc:
        raise BusyError("数据库一直被占用，请稍后再试") from exc
    try:
        target.mkdir(parents=True)
        for src in (db_path, db_path.with_name(db_path.name + ".wal"), files_dir(db_path)):
            if src.exists():
                os.replace(src, target / src.name)
    finally:
        lock.release()
    init_db(db_path)
    with connect(db_path, write=True) as con:  # the new database starts with the accounts and the record
        _carry_over(con, target / db_path.name)
    return target


# --------------------------------------------------------------------------
# Reads the other pipelines need (progress, reporting, diff, template). Every SQL statement is in
# this module (the schema, loads, and these reads) or in pipelines/queries.py (what pages show).
def latest_values(con, as_of: date) -> pd.DataFrame:
    """Each unit's latest current value per indicator on or before ``as_of``, with the period it
    comes from (unit_code, indicator_code, value, period_end, period_code)."""
    return con.execute("""
        SELECT unit_code, indicator_code, value, period_end, period_code FROM (
            SELECT unit_code, indicator_code, value, period_end, period_code,
                   row_number() OVER (PARTITION BY unit_code, indicator_code ORDER BY period_end DESC) AS rn
            FROM v_indicator_values WHERE period_end <= ?)
        WHERE rn = 1""", [as_of]).df()


def latest_returns(con, as_of: date) -> pd.DataFrame:
    """Each unit's current return for its latest period ending on or before ``as_of``
    (unit_code, period_end, period_code, version, received_at, submission_id)."""
    return con.execute("""
        SELECT unit_code, period_end, period_code, version, received_at, submission_id FROM (
            SELECT *, row_number() OVER (PARTITION BY unit_code ORDER BY period_end DESC) AS rn
            FROM v_submissions WHERE period_end <= ?) WHERE rn = 1""", [as_of]).df()


def submission_facts(con) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per unit and period end: first arrival, number of versions, rejected attempts and the last
    one; the current versions with who sent them and their warnings). Period ends as dates."""
    facts = con.execute("""
        SELECT unit_code, period_end,
               min(received_at) FILTER (WHERE status = 'loaded') AS first_received_at,
               count(*) FILTER (WHERE status = 'loaded') AS n_versions,
               count(*) FILTER (WHERE status = 'rejected') AS rejected_attempts,
               max(received_at) FILTER (WHERE status = 'rejected') AS last_rejected_at
        FROM submissions
        WHERE unit_code IS NOT NULL AND period_end IS NOT NULL
        GROUP BY unit_code, period_end""").df()
    current = con.execute("""
        SELECT unit_code, period_end, submission_id, version, received_at, received_by, file_name,
               coalesce(n_warnings, 0) AS n_warnings
        FROM v_submissions""").df()
    for df in (facts, current):
        df["period_end"] = pd.to_datetime(df["period_end"]).dt.date
    return facts, current


def current_submission(con, unit_code: str, period_end: date) -> dict | None:
    """The current version of a unit's return for a period end (its submissions row, cover
    fields included), or None."""
    cur = con.execute("""
        SELECT submission_id, version, file_name, received_at, received_by, period_code, period_end, filler, phone
        FROM v_submissions WHERE unit_code = ? AND period_end = ?
        ORDER BY submission_id DESC LIMIT 1""", [unit_code, period_end])
    row = cur.fetchone()
    return None if row is None else dict(zip([d[0] for d in cur.description], row))


def submission_row(con, submission_id: int) -> dict | None:
    """One submission (loaded, superseded or rejected) as a dict of its columns, or None."""
    cur = con.execute("SELECT * FROM submissions WHERE submission_id = ?", [int(submission_id)])
    row = cur.fetchone()
    return None if row is None else dict(zip([d[0] for d in cur.description], row))


def _python_frame(cur) -> pd.DataFrame:
    """A result as a frame of Python values (dates as ``date``, lists as lists, NULL as None)."""
    return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description], dtype=object)


def version_items(con, submission_id: int) -> pd.DataFrame:
    """A loaded version's items (all of them, in file order) as the public view has them."""
    return _python_frame(con.execute("SELECT * FROM v_items WHERE submission_id = ? ORDER BY source_row",
                                     [int(submission_id)]))


def version_values(con, submission_id: int) -> dict[str, int]:
    """A loaded version's 表1 values (indicators with a value)."""
    return {c: int(v) for c, v in con.execute(
        "SELECT indicator_code, value FROM v_indicator_values WHERE submission_id = ?",
        [int(submission_id)]).fetchall()}


def version_indicator_rows(con, submission_id: int) -> list[tuple]:
    """A version's 表1 rows as loaded: (indicator_code, value, increase, note) in file order. From the
    table, not v_indicator_values, which leaves out rows without a value (a note or an increase alone)
    and has no notes: a correction template must give them back."""
    return con.execute("SELECT indicator_code, value, increase, note FROM indicator_values WHERE submission_id = ? "
                       "ORDER BY source_row", [int(submission_id)]).fetchall()


def latest_period_before(con, unit_code: str, before: date) -> tuple[date, str] | None:
    """(period_end, period_code) of the unit's latest current return (values or items) for a period
    ending before ``before``, or None."""
    return con.execute("""
        SELECT period_end, period_code FROM (
            SELECT period_end, period_code FROM v_indicator_values WHERE unit_code = ? AND period_end < ?
            UNION ALL
            SELECT period_end, period_code FROM v_items WHERE unit_code = ? AND period_end < ?)
        ORDER BY period_end DESC LIMIT 1""", [unit_code, before, unit_code, before]).fetchone()


def values_at(con, unit_code: str, period_end: date) -> dict[str, int]:
    """A unit's current 表1 values for a period end."""
    return {c: int(v) for c, v in con.execute(
        "SELECT indicator_code, value FROM v_indicator_values WHERE unit_code = ? AND period_end = ?",
        [unit_code, period_end]).fetchall()}


def live_items_at(con, unit_code: str, period_end: date) -> pd.DataFrame:
    """A unit's current live items for a period end, in file order, as the public view has them."""
    return _python_frame(con.execute(
        "SELECT * FROM v_items WHERE unit_code = ? AND period_end = ? AND is_live ORDER BY source_row",
        [unit_code, period_end]))


PUBLIC_VIEWS = ("v_submissions", "v_indicator_values", "v_items", "v_item_partners")


def has_public_views(con) -> bool:
    """Whether the database is set up (its public views exist)."""
    return all(table_exists(con, v) for v in PUBLIC_VIEWS)


def view_counts(con) -> dict[str, int]:
    """Rows in each public view the database has (a backup's manifest; ``backup --check`` compares)."""
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    return {v: con.execute(f"SELECT count(*) FROM {v}").fetchone()[0] for v in PUBLIC_VIEWS if v in have}


def checkpoint(con) -> None:
    """Write the WAL into the database file (a read-write connection; backups copy the file after it)."""
    con.execute("CHECKPOINT")


def submission_sources(con) -> list[str]:
    """The distinct ``source`` of every stored submission (demo, web, cli …)."""
    return [r[0] for r in con.execute("SELECT DISTINCT source FROM submissions").fetchall()]


def _carry_over(con, archived: Path) -> None:
    """Accounts, administration settings and the audit log continue in the new database."""
    con.execute("ATTACH '" + str(archived).replace("'", "''") + "' AS old (READ_ONLY)")
    try:
        for table in ("users", "audit_log", "setting_overrides", "alias_overrides", "plan_overrides"):
            con.execute(f"INSERT INTO {table} SELECT * FROM old.{table}")
        top = con.execute("SELECT coalesce(max(event_id), 0) FROM audit_log").fetchone()[0]
        con.execute("DROP SEQUENCE audit_seq")
        con.execute(f"CREATE SEQUENCE audit_seq START {int(top) + 1}")
    finally:
        con.execute("DETACH old")
