"""Databases for page and end-to-end tests, built through the real pipeline.

``demo_db_copy(tmp_path)`` returns a private copy of the demo database. The
demo is built once per content of pipelines/ and data/ (keyed by a hash, under
the system temp folder, guarded by a file lock so parallel test workers build
it once) and then copied, so each test may write to its copy freely.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from filelock import FileLock

REPO = Path(__file__).resolve().parent.parent


def _content_key() -> str:
    h = hashlib.sha256()
    for folder in ("pipelines", "data"):
        for f in sorted((REPO / folder).rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(REPO)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def demo_db_master() -> Path:
    """The shared, read-only demo database (built on first use)."""
    from pipelines.demo import build_demo

    base = Path(tempfile.gettempdir()) / "kjhz-test-demo"
    base.mkdir(exist_ok=True)
    target = base / _content_key() / "demo.duckdb"
    with FileLock(str(base / "build.lock")):
        if not (target.parent / "done").exists():
            if target.parent.exists():
                shutil.rmtree(target.parent)
            target.parent.mkdir(parents=True)
            build_demo(target)
            (target.parent / "done").write_text("ok")
    return target


def demo_db_copy(tmp_path: Path) -> Path:
    """A private copy of the demo database (and its files folder) under ``tmp_path``."""
    master = demo_db_master()
    dest = tmp_path / "demo.duckdb"
    shutil.copy2(master, dest)
    files = master.with_name(master.stem + "-files")
    if files.exists():
        shutil.copytree(files, dest.with_name(dest.stem + "-files"))
    return dest
