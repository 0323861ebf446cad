"""Backups: a consistent snapshot of the database and the stored original files.

    python -m pipelines.backup --db var/kjhz.duckdb --out /backup/kjhz
    python -m pipelines.backup --check /backup/kjhz/kjhz-20261202-210000

Safe while the app is running and serving: the snapshot is taken holding the
writers' lock (the one every load, restore and archive takes), on a
read-write connection that first writes the WAL into the file (CHECKPOINT);
pages only read through short-lived connections and wait a moment. Original
files are content-addressed and only ever added, and each is stored before
the load that refers to it commits, so every file the copied database names
is in the copied folder.

A backup is a folder ``<stem>-<timestamp>[-label]/`` holding ``<db name>``,
``<stem>-files/`` and ``manifest.json`` (SHA-256 of every file, the row
count of every public view, the schema version). ``--check`` verifies a
backup against its manifest and opens the copied database read-only.
Passwords are only in the database as Argon2 hashes.
"""
from __future__ import annotations

if __name__ == "__main__":  # `python -m pipelines.backup`: the command itself, before this module's imports
    from .cli import run_module

    run_module("backup")

import hashlib
import json
import os
import shutil
from datetime import datetime
from pathlib import Path

from .store import PUBLIC_VIEWS, view_counts  # noqa: F401  (PUBLIC_VIEWS: what a manifest counts)

MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def backup(db_path: Path | str, out_dir: Path | str, *, label: str | None = None, who=None) -> Path:
    """Write a snapshot folder under ``out_dir``; -> its path."""
    from . import audit, store

    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(f"数据库不存在：{db_path}")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    name = f"{db_path.stem}-{stamp}" + (f"-{label}" if label else "")
    target = Path(out_dir) / name
    tmp = Path(out_dir) / f".{name}.tmp"
    tmp.mkdir(parents=True)
    files_src = store.files_dir(db_path)
    files_dst = tmp / files_src.name
    with store.connect(db_path, write=True, on_wait=None) as con:
        store.checkpoint(con)
        if store.table_exists(con, "audit_log"):
            audit.record(con, who, "backup", object=name, source="cli" if who is None else None,
                         detail=f"备份到 {Path(out_dir).name}/{name}" + (f"（{label}）" if label else ""))
            store.checkpoint(con)
        schema = store._schema_version(con)
        counts = view_counts(con)
        # the file, copied while this process holds both the writers' lock and the only read-write handle
        shutil.copy2(db_path, tmp / db_path.name)
        wal = db_path.with_name(db_path.name + ".wal")
        if wal.exists() and wal.stat().st_size:
            shutil.copy2(wal, tmp / wal.name)
        files: dict[str, str] = {}
        if files_src.exists():
            for f in sorted(files_src.rglob("*")):
                if f.is_file() and not f.name.startswith("."):
                    rel = f.relative_to(files_src)
                    dst = files_dst / rel
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, dst)
    files_dst.mkdir(exist_ok=True)
    manifest = {
        "created_at": datetime.now().isoformat(timespec="seconds"),
        "database": db_path.name,
        "files_dir": files_src.name,
        "schema_version": schema,
        "view_rows": counts,
        "sha256": {str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()},
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, target)
    return target


def check(folder: Path | str) -> list[str]:
    """Problems with a backup folder (empty list: the backup is complete and opens)."""
    import duckdb

    folder = Path(folder)
    mf = folder / MANIFEST
    if not mf.exists():
        return [f"缺少 {MANIFEST}：不是完整的备份"]
    manifest = json.loads(mf.read_text(encoding="utf-8"))
    problems = []
    for rel, digest in manifest["sha256"].items():
        p = folder / rel
        if not p.exists():
            problems.append(f"缺少文件：{rel}")
        elif _sha256(p) != digest:
            problems.append(f"文件内容与备份时不同：{rel}")
    listed = set(manifest["sha256"])
    for p in folder.rglob("*"):
        if p.is_file() and p.name != MANIFEST and str(p.relative_to(folder)) not in listed:
            problems.append(f"多出的文件：{p.relative_to(folder)}")
    if problems:
        return problems
    # open a copy (opening may replay a WAL and would change the backup itself)
    import tempfile

    with tempfile.TemporaryDirectory() as t:
        db = Path(t) / manifest["database"]
        shutil.copy2(folder / manifest["database"], db)
        wal = folder / (manifest["database"] + ".wal")
        if wal.exists():
            shutil.copy2(wal, Path(t) / wal.name)
        try:
            con = duckdb.connect(str(db), read_only=True)
        except duckdb.Error as exc:
            return [f"数据库无法打开：{exc}"]
        try:
            got = view_counts(con)
        finally:
            con.close()
    for v, n in manifest["view_rows"].items():
        if got.get(v) != n:
            problems.append(f"{v}：备份时{n}行，现在{got.get(v)}行")
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.backup`` in-process: the same as ``python -m pipelines backup``."""
    from .cli import run_command

    return run_command("backup", argv, prog="python -m pipelines.backup")
