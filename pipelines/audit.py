"""操作日志: an append-only record of who did what, when, before and after.

Every login and failed login, logout, upload (checked on the page), load,
rejection, version change, archive, data export, backup and administrative
edit is one row of ``audit_log`` (schema in store.MIGRATIONS). Rows are only
ever inserted: nothing in the product updates or deletes them, and the page
that shows them has no control that could. The version events of the
earlier 操作记录 (submission_events) were copied in when the table was made,
and every new version event is written to both in the same transaction.

Passwords never reach this table (only the fact that one was changed).
"""
from __future__ import annotations

from datetime import date, datetime

import pandas as pd

ACTION_ZH = {
    "login": "登录", "login_failed": "登录失败", "locked": "账户锁定", "logout": "退出登录",
    "upload": "上传检查", "loaded": "载入", "rejected": "未通过检查", "superseded": "被取代",
    "restored": "恢复为当前版本", "archive": "归档数据库", "export": "导出数据", "backup": "备份",
    "denied": "拒绝操作", "user_add": "新建账户", "user_passwd": "修改口令", "user_disable": "停用账户",
    "user_enable": "启用账户", "user_role": "修改角色", "user_unlock": "解锁账户",
    "alias_add": "增加别名", "setting": "修改设置", "allocation": "修改目标分解", "baseline": "修改基期值", "target": "修改目标值",
    "plan_reset": "恢复计划文件值",
    "migration": "数据库升级",
}
COLUMNS_ZH = {"event_id": "序号", "event_at": "时间", "account": "账户", "role": "角色", "action_zh": "操作",
              "unit_name": "单位", "object": "对象", "before": "操作前", "after": "操作后", "detail": "说明",
              "source": "来源"}
SOURCE_ZH = {"web": "网页", "cli": "命令行", "demo": "演示数据", "test": "测试", "system": "系统"}


def _who(actor) -> tuple[str | None, str | None]:
    if actor is None:
        return None, None
    from .accounts import ROLE_ZH

    return actor.user_name, (None if getattr(actor, "is_local", False) else ROLE_ZH.get(actor.role, actor.role))


def record(con, actor, action: str, *, unit_code: str | None = None, object: str | None = None,
           before: str | None = None, after: str | None = None, detail: str | None = None,
           source: str | None = None, at: datetime | None = None) -> None:
    """Append one row (inside the caller's transaction when there is one)."""
    account, role = _who(actor)
    if source is None:
        source = "cli" if getattr(actor, "is_local", False) else "web"
    from .store import auditlog  # imported when first needed: the store imports this module

    auditlog.insert(con, at=at or datetime.now(), account=account, role=role, action=action, unit_code=unit_code,
                    object=_short(object), before=_short(before), after=_short(after), detail=_short(detail),
                    source=source)


def log(db_path, actor, action: str, **fields) -> None:
    """``record`` in its own short write transaction (logins, uploads, exports)."""
    from . import store

    with store.connect(db_path, write=True, on_wait=None) as con:
        record(con, actor, action, **fields)


def _short(v, limit: int = 2000) -> str | None:
    if v is None:
        return None
    s = str(v)
    return s if len(s) <= limit else s[:limit] + "…"


def query(con, *, start: date | None = None, end: date | None = None, accounts=(), actions=(),
          unit_code: str | None = None, text: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """Rows of the audit log, newest first, filtered (by day, accounts, actions, unit, text)."""
    from .store import auditlog

    return auditlog.select(con, start=start, end=end, accounts=accounts, actions=actions, unit_code=unit_code,
                           text=text, limit=limit)


def for_display(df: pd.DataFrame, unit_name=None) -> pd.DataFrame:
    """Chinese columns and labels (for the page and the Excel export)."""
    out = df.copy()
    out["action_zh"] = out["action"].map(lambda a: ACTION_ZH.get(a, a))
    out["unit_name"] = out["unit_code"].map(lambda c: unit_name(c) if unit_name and isinstance(c, str) else c)
    out["source"] = out["source"].map(lambda s: SOURCE_ZH.get(s, s))
    out["account"] = out["account"].fillna("（未登录）")
    return out[list(COLUMNS_ZH)].rename(columns=COLUMNS_ZH)


def accounts_seen(con) -> list[str]:
    from .store import auditlog

    return auditlog.accounts_seen(con)
