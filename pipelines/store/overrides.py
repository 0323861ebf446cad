"""SQL of the administrator's additions to the reference data: ``alias_overrides``, ``setting_overrides``
(and the stored issues that show which names uploads keep failing on). Rows are only added; the rules
(validation, audit, laying them over the loaded reference data) are in pipelines/admin.py."""
from __future__ import annotations

from datetime import datetime

import pandas as pd


def unrecognised_counts(con, codes: list[str]) -> pd.DataFrame:
    """Per issue code and unrecognised name: how often (count) and in how many files (files), most first."""
    return con.execute("""
        SELECT code, coalesce(json_extract_string(params, '$.part'), value) AS name,
               count(*) AS count, count(DISTINCT submission_id) AS files
        FROM issues WHERE code IN (SELECT unnest(?::VARCHAR[])) AND coalesce(value, '') <> ''
        GROUP BY ALL ORDER BY count DESC, name""", [list(codes)]).df()


def insert_alias(con, field: str, alias: str, code: str, at: datetime, by: str | None) -> None:
    con.execute("INSERT INTO alias_overrides VALUES (?, ?, ?, ?, ?)", [field, alias, code, at, by])


def aliases(con) -> list[tuple[str, str, str]]:
    """(field, alias, code) in the order they were added."""
    return con.execute("SELECT field, alias, code FROM alias_overrides ORDER BY added_at").fetchall()


def alias_rows(con) -> pd.DataFrame:
    """Every added alias with who added it when, newest first."""
    return con.execute("SELECT field, alias, code, added_at, added_by FROM alias_overrides "
                       "ORDER BY added_at DESC").df()


def insert_setting(con, key: str, value: str, at: datetime, by: str | None) -> None:
    con.execute("INSERT INTO setting_overrides VALUES (?, ?, ?, ?)", [key, value, at, by])


def latest_settings(con) -> list[tuple[str, str]]:
    """(key, value) of the latest change of every setting."""
    return con.execute("""SELECT key, value FROM (SELECT *, row_number() OVER (PARTITION BY key ORDER BY changed_at DESC)
                          AS rn FROM setting_overrides) WHERE rn = 1""").fetchall()
