"""SQL of ``audit_log`` (append-only: nothing here updates or deletes). The words are in pipelines/audit.py."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd


def insert(con, *, at: datetime, account: str | None, role: str | None, action: str, unit_code: str | None,
           object: str | None, before: str | None, after: str | None, detail: str | None,
           source: str | None) -> None:
    con.execute("INSERT INTO audit_log VALUES (nextval('audit_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [at, account, role, action, unit_code, object, before, after, detail, source])


def select(con, *, start: date | None = None, end: date | None = None, accounts=(), actions=(),
           unit_code: str | None = None, text: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """Rows of the audit log, newest first, filtered."""
    where, params = ["TRUE"], []
    if start:
        where.append("event_at >= ?")
        params.append(datetime.combine(start, datetime.min.time()))
    if end:
        where.append("event_at < ?")
        params.append(datetime.combine(end + timedelta(days=1), datetime.min.time()))
    if accounts:
        where.append("account IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(accounts))
    if actions:
        where.append("action IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(actions))
    if unit_code:
        where.append("unit_code = ?")
        params.append(unit_code)
    if text:
        where.append("(contains(coalesce(object, ''), ?) OR contains(coalesce(detail, ''), ?) "
                     "OR contains(coalesce(before, ''), ?) OR contains(coalesce(after, ''), ?))")
        params += [text] * 4
    sql = f"SELECT * FROM audit_log WHERE {' AND '.join(where)} ORDER BY event_at DESC, event_id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return con.execute(sql, params).df()


def accounts_seen(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT account FROM audit_log WHERE account IS NOT NULL "
                                      "ORDER BY 1").fetchall()]
