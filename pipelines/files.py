"""Which files a command reads: Excel files as given, folders expanded to theirs.

Imports nothing heavy, so the command line knows its first file before it
imports what checks it (pipelines/commands/ingest.py starts reading it early).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}


def expand(paths: Iterable[str | Path], skipped: dict[str, list[Path]] | None = None) -> list[Path]:
    """Files as given; folders expanded to their Excel files in file-name order.

    What a folder holds besides is not read; pass ``skipped`` to learn what:
    ``{"other": [...], "temporary": [...], "folders": [...]}`` (non-Excel files,
    Excel's ``~$`` lock files and hidden files, subfolders).
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = []
            for f in sorted(p.iterdir(), key=lambda f: f.name):
                if f.is_dir():
                    kind = "folders"
                elif f.name.startswith(("~$", ".")):
                    kind = "temporary"
                elif f.suffix.lower() not in EXCEL_SUFFIXES:
                    kind = "other"
                else:
                    files.append(f)
                    continue
                if skipped is not None:
                    skipped.setdefault(kind, []).append(f)
            out.extend(files)
        else:
            out.append(p)
    return out
