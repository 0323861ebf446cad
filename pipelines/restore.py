"""Bring a backup back: ``python -m pipelines.restore --from DIR --db PATH [--force]``.

The backup is checked against its manifest first. The database and its
original files are copied to ``PATH`` and ``<stem>-files/`` beside it. An
existing database there is never overwritten unless ``--force`` is given;
then it is first moved aside to ``<db dir>/archive/before-restore-<time>/``
(nothing is deleted).
"""
from __future__ import annotations

if __name__ == "__main__":  # `python -m pipelines.restore`: the command itself, before this module's imports
    from .cli import run_module

    run_module("restore")

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

from .backup import MANIFEST, check


class RestoreRefused(RuntimeError):
    pass


def restore(folder: Path | str, db_path: Path | str, *, force: bool = False) -> Path:
    from . import store

    folder, db_path = Path(folder), Path(db_path)
    problems = check(folder)
    if problems:
        raise RestoreRefused("备份不完整，未恢复：" + "；".join(problems[:5]))
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    files_dst = store.files_dir(db_path)
    existing = [p for p in (db_path, db_path.with_name(db_path.name + ".wal"), files_dst) if p.exists()]
    if existing and not force:
        raise RestoreRefused(f"目标位置已有数据库或文件（{', '.join(p.name for p in existing)}），未覆盖；"
                             "请换一个位置，或加 --force（原有的会先移到 archive/ 中保存）。")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(db_path) + ".lock"):
        if existing:
            aside = db_path.parent / "archive" / f"before-restore-{datetime.now():%Y%m%d-%H%M%S-%f}"
            aside.mkdir(parents=True)
            for p in existing:
                os.replace(p, aside / p.name)
        tmp = db_path.with_name(f".{db_path.name}.restore.tmp")
        shutil.copy2(folder / manifest["database"], tmp)
        wal_src = folder / (manifest["database"] + ".wal")
        if wal_src.exists():
            shutil.copy2(wal_src, db_path.with_name(db_path.name + ".wal"))
        src_files = folder / manifest["files_dir"]
        if src_files.exists():
            shutil.copytree(src_files, files_dst)
        else:
            files_dst.mkdir(parents=True)
        os.replace(tmp, db_path)
    return db_path


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.restore`` in-process: the same as ``python -m pipelines restore``."""
    from .cli import run_command

    return run_command("restore", argv, prog="python -m pipelines.restore")
