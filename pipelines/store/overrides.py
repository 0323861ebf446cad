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


def insert_plan_value(con, plan_id: str, kind: str, indicator_code: str, unit_code: str | None,
                      value: float | None, at: datetime, by: str | None) -> None:
    """One change of a plan value (``value`` None: back to the plan file's value). Each row is later than
    every earlier one, so the latest row of a value is its current state even within one clock tick."""
    con.execute("""INSERT INTO plan_overrides
                   SELECT ?, ?, ?, ?, ?, greatest(?::TIMESTAMP, (SELECT max(changed_at) + INTERVAL 1 MICROSECOND
                                                                FROM plan_overrides)), ?""",
                [plan_id, kind, indicator_code, unit_code, value, at, by])


def plan_values(con, plan_id: str) -> pd.DataFrame:
    """The latest change of every plan value of ``plan_id`` that is overridden now (value not NULL):
    kind, indicator_code, unit_code, value, changed_at, changed_by."""
    return con.execute("""
        SELECT kind, indicator_code, unit_code, value, changed_at, changed_by FROM (
            SELECT *, row_number() OVER (PARTITION BY kind, indicator_code, unit_code ORDER BY changed_at DESC) AS rn
            FROM plan_overrides WHERE plan_id = ?)
        WHERE rn = 1 AND value IS NOT NULL
        ORDER BY kind, indicator_code, unit_code""", [plan_id]).df()
