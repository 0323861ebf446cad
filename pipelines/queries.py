"""Named queries over the public views -> DataFrames. Pages read only through here.

Every function takes an open DuckDB connection first; the UI runs them
through a cache keyed by the database's version (ui.common.q).
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from .progress import carried_figures, progress_table, return_basis  # noqa: F401  (re-exported for pages)


def is_demo(con) -> bool:
    """True while the current data include generated demo returns."""
    return bool(con.execute("SELECT count(*) FROM v_submissions WHERE source = 'demo'").fetchone()[0])


def has_data(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM v_submissions").fetchone()[0])


def as_of_options(con) -> list[date]:
    """Period ends with current data, latest first."""
    rows = con.execute("SELECT DISTINCT period_end FROM v_submissions ORDER BY period_end DESC").fetchall()
    return [r[0] for r in rows]
