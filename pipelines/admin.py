"""系统管理 that lives in the database: aliases and reporting settings added by an administrator.

The reference files under data/ stay the base. An administrator's additions are
rows of ``alias_overrides`` and ``setting_overrides`` (so backups hold them, and
the audit log records who changed what, before and after); ``apply`` lays them
over the loaded reference data, in place, so a change takes effect without a
restart: the 系统管理 page applies it at once, and every check (``diff.check_upload``,
``ingest.ingest_files``) applies what the database holds before it reads a file.

Validation: an alias that already names something else (a collision) is refused;
settings have ranges.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from . import audit
from .accounts import ADMINISTER, Account, require
from .reference import Reference, norm_key
from .store import overrides, table_exists

# issue code -> (lookup field, what the field is called)
UNRECOGNISED = {
    "unknown-unit": ("unit", "填报单位"),
    "unknown-item-type": ("item_type", "事项类别"),
    "unknown-sector": ("sector", "所属领域"),
    "unknown-partner": ("partner", "合作国家（地区）"),
    "unknown-status": ("status", "状态"),
    "unknown-indicator": ("indicator", "指标"),
}
FIELD_ZH = {field: zh for field, zh in UNRECOGNISED.values()}
SETTINGS = {  # key -> (Chinese label, parse-and-validate)
    "deadline_days": ("报送期限（报告期结束后天数）", lambda v: _int_in(v, 1, 365)),
    "reporting_frequency": ("报送频率", lambda v: _choice(v, ("Q", "H", "Y"))),
}


def _int_in(v, lo: int, hi: int) -> int:
    try:
        n = int(str(v).strip())
    except ValueError:
        raise ValueError(f"应为{lo}到{hi}之间的整数") from None
    if not lo <= n <= hi:
        raise ValueError(f"应为{lo}到{hi}之间的整数")
    return n


def _choice(v, allowed) -> str:
    s = str(v).strip().upper()
    if s not in allowed:
        raise ValueError("应为：" + "、".join(allowed))
    return s


# --------------------------------------------------------------------------
def unrecognised_names(con, ref: Reference, limit: int = 30) -> pd.DataFrame:
    """The names uploads keep failing on, most frequent first (field, field_zh, name, count, files,
    suggestion), from the stored issues; names that are recognised by now are left out."""
    df = overrides.unrecognised_counts(con, list(UNRECOGNISED))
    if df.empty:
        return pd.DataFrame(columns=["field", "field_zh", "name", "count", "files", "suggestion"])
    df["field"] = df["code"].map(lambda c: UNRECOGNISED[c][0])
    df["field_zh"] = df["code"].map(lambda c: UNRECOGNISED[c][1])
    matches = [ref.lookups[f].resolve(n) for f, n in zip(df["field"], df["name"])]
    df["suggestion"] = [m.suggestion for m in matches]
    df = df[[not m.ok for m in matches]]
    df = df.groupby(["field", "field_zh", "name"], as_index=False, sort=False).agg(
        count=("count", "sum"), files=("files", "sum"), suggestion=("suggestion", "first"))
    return df.sort_values("count", ascending=False, kind="stable").head(limit).reset_index(drop=True)


def add_alias(con, actor: Account | None, field: str, alias: str, code: str, ref: Reference) -> None:
    """Accept ``alias`` as a spelling of ``code`` from now on (recorded, applied at once)."""
    require(con, actor, ADMINISTER, what="增加别名")
    if field not in FIELD_ZH:
        raise ValueError("不能为这一类名称增加别名。")
    lookup = ref.lookups[field]
    alias = (alias or "").strip()
    if not norm_key(alias):
        raise ValueError("别名不能为空。")
    if code not in lookup.names:
        raise ValueError("请选择别名对应的规范名称。")
    owner = lookup.owner(alias)
    if owner is not None and owner != code:
        raise ValueError(f"「{alias}」已是「{lookup.names[owner]}」的写法，不能再作为「{lookup.names[code]}」的别名"
                         "（两个名称会混淆）。")
    if owner == code:
        raise ValueError(f"「{alias}」已能识别为「{lookup.names[code]}」，无需增加。")
    lookup.add_spelling(alias, code)
    overrides.insert_alias(con, field, alias, code, datetime.now(), actor.user_name)
    audit.record(con, actor, "alias_add", object=f"{FIELD_ZH[field]}：{alias}", after=lookup.names[code])


def set_setting(con, actor: Account | None, key: str, value, ref: Reference) -> None:
    require(con, actor, ADMINISTER, what="修改报送设置")
    if key not in SETTINGS:
        raise ValueError("不能修改这项设置。")
    label, parse = SETTINGS[key]
    try:
        new = parse(value)
    except ValueError as exc:
        raise ValueError(f"{label}{exc}。") from None
    old = ref.settings.get(key)
    overrides.insert_setting(con, key, str(new), datetime.now(), actor.user_name)
    ref.settings[key] = new
    audit.record(con, actor, "setting", object=label, before=str(old), after=str(new))


def apply(con, ref: Reference) -> None:
    """Lay the database's aliases and settings over ``ref`` (idempotent)."""
    if not table_exists(con, "alias_overrides"):
        return
    for field, alias, code in overrides.aliases(con):
        lookup = ref.lookups.get(field)
        if lookup is not None and code in lookup.names and lookup.owner(alias) in (None, code):
            lookup.add_spelling(alias, code)
    for key, value in overrides.latest_settings(con):
        if key in SETTINGS:
            try:
                ref.settings[key] = SETTINGS[key][1](value)
            except ValueError:
                pass


def apply_from(db_path: Path | str, ref: Reference) -> None:
    """``apply`` with a short read-only connection; a database that does not exist yet has nothing to add."""
    from . import store

    if not Path(db_path).exists():
        return
    try:
        with store.connect(db_path, on_wait=None) as con:
            apply(con, ref)
    except Exception:  # an old schema or a busy file: the files' reference data as they are
        pass


def alias_list(con, ref: Reference) -> pd.DataFrame:
    df = overrides.alias_rows(con)
    df["field_zh"] = df["field"].map(FIELD_ZH)
    df["name"] = [ref.lookups[f].names.get(c, c) if f in ref.lookups else c for f, c in zip(df["field"], df["code"])]
    return df
