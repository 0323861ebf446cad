"""系统管理 that lives in the database: aliases, reporting settings and plan values set by an administrator.

The reference files under data/ stay the base. An administrator's additions are
rows of ``alias_overrides``, ``setting_overrides`` and ``plan_overrides`` (so backups hold them, and
the audit log records who changed what, before and after); ``apply`` lays them
over the loaded reference data, in place, so a change takes effect without a
restart: the 系统管理 page applies it at once, and every check (``diff.check_upload``,
``ingest.ingest_files``) applies what the database holds before it reads a file.

Validation: an alias that already names something else (a collision) is refused;
settings have ranges.

Plan values (``set_plan_values``): the region's baseline and target of an indicator and
the targets split to units (任务分解, ``allocations``). Whole numbers from 0 to
``max_count`` (settings.yaml) for count indicators (every indicator unless its plan
entry says ``count: false``), a target not below its baseline, and a flow indicator's
baseline stays 0. Allocations that do not add up to the region's target are allowed;
``allocation_warnings`` says by how much. A change is a new row, never an update;
``reset_plan_value`` adds a row that returns a value to the plan file's, so the
history stays whole and every change is in the audit log with before and after.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pandas as pd

from . import audit
from .accounts import ADMINISTER, Account, require
from .reference import Reference, load_reference, norm_key, plan_file
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
    """Lay the database's aliases, settings and plan values over ``ref`` (idempotent; plan values are
    laid over the plan file's afresh, so a value reset in the database is the file's again)."""
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
    if table_exists(con, "plan_overrides"):
        _lay_plan(ref, overrides.plan_values(con, ref.plan.id))


def apply_from(db_path: Path | str, ref: Reference) -> bool:
    """``apply`` with a short read-only connection; a database that does not exist yet has nothing to add.
    -> whether the database was read (False: missing, busy or of an old schema; ``ref`` as it was)."""
    from . import store

    if not Path(db_path).exists():
        return False
    try:
        with store.connect(db_path, on_wait=None) as con:
            apply(con, ref)
    except Exception:  # an old schema or a busy file: the files' reference data as they are
        return False
    return True


def reference_for(db_path: Path | str) -> Reference:
    """The reference data with what the database ``db_path`` holds laid over it (the command lines)."""
    ref = load_reference()
    apply_from(db_path, ref)
    return ref


def alias_list(con, ref: Reference) -> pd.DataFrame:
    df = overrides.alias_rows(con)
    df["field_zh"] = df["field"].map(FIELD_ZH)
    df["name"] = [ref.lookups[f].names.get(c, c) if f in ref.lookups else c for f, c in zip(df["field"], df["code"])]
    return df


# --------------------------------------------------------------------------
# Plan values: baselines, targets and the targets split to units
PLAN_KINDS = {"baseline": "基期值", "target": "目标值", "allocation": "分解目标"}


@dataclass(frozen=True)
class PlanChange:
    """One plan value to set: ``value`` None returns it to the plan file's value."""
    kind: str  # baseline | target | allocation
    indicator_code: str
    value: float | None
    unit_code: str | None = None  # allocations only

    def __post_init__(self):  # a unit read from a table may come as NaN: no unit
        if not isinstance(self.unit_code, str):
            object.__setattr__(self, "unit_code", None)

    @property
    def is_reset(self) -> bool:
        return self.value is None or (isinstance(self.value, float) and math.isnan(self.value))

    @property
    def key(self) -> tuple:
        return self.kind, self.indicator_code, self.unit_code


def _lay_plan(ref: Reference, rows: pd.DataFrame) -> None:
    """``ref.plan`` = the plan file's plan with ``rows`` (kind, indicator_code, unit_code, value) laid over it."""
    base = plan_file(ref.plan.id)
    ind = base.indicators.copy()
    alloc = base.allocations.copy()
    codes = set(ind["code"])
    for r in rows.itertuples():
        if r.indicator_code not in codes or r.value is None or pd.isna(r.value):
            continue
        if r.kind in ("baseline", "target"):
            ind.loc[ind["code"] == r.indicator_code, r.kind] = float(r.value)
        elif r.kind == "allocation" and r.unit_code in ref.lookups["unit"].names:
            hit = (alloc["unit_code"] == r.unit_code) & (alloc["indicator_code"] == r.indicator_code)
            if hit.any():
                alloc.loc[hit, "target"] = float(r.value)
            else:
                alloc.loc[len(alloc)] = {"unit_code": r.unit_code, "indicator_code": r.indicator_code,
                                         "target": float(r.value), "baseline": 0.0}
    order = dict(zip(ref.units["code"], ref.units["sort"]))
    alloc = alloc.assign(_u=alloc["unit_code"].map(order), _i=alloc["indicator_code"].map(dict(zip(ind["code"],
                                                                                                 ind["sort"]))))
    alloc = alloc.sort_values(["_u", "_i"], kind="stable").drop(columns=["_u", "_i"]).reset_index(drop=True)
    alloc["target"] = alloc["target"].astype(float)
    alloc["baseline"] = alloc["baseline"].astype(float)
    ref.plan = replace(ref.plan, indicators=ind.reset_index(drop=True), allocations=alloc)


def _plan_value(plan, kind: str, code: str, unit: str | None) -> float | None:
    """A value of ``plan`` (the file's or the one in use); None: no allocation for that unit."""
    if kind in ("baseline", "target"):
        hit = plan.indicators.loc[plan.indicators["code"] == code, kind]
        return float(hit.iloc[0]) if len(hit) else None
    a = plan.allocations
    hit = a.loc[(a["unit_code"] == unit) & (a["indicator_code"] == code), "target"]
    return float(hit.iloc[0]) if len(hit) else None


def _unit_baseline(ref: Reference, code: str, unit: str) -> float:
    a = ref.plan.allocations
    hit = a.loc[(a["unit_code"] == unit) & (a["indicator_code"] == code), "baseline"]
    return float(hit.iloc[0]) if len(hit) else 0.0


def _number(v: float | None) -> str:
    if v is None or pd.isna(v):
        return "未分解"
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.2f}"


def _parse_plan_value(value, ind: pd.Series) -> float:
    """A number an administrator typed, or ValueError with the reason (Chinese)."""
    from .vocab import max_count

    try:
        v = float(str(value).strip().replace(",", "").replace("，", ""))
    except ValueError:
        raise ValueError("应为数字") from None
    if not math.isfinite(v):
        raise ValueError("应为数字")
    if v < 0:
        raise ValueError("不能为负数")
    if bool(ind.get("count", True)) is not False and not v.is_integer():
        raise ValueError(f"应为整数（单位：{ind['unit']}）")
    top = max_count()
    if v > top:
        raise ValueError(f"不能超过{top:,}")
    return v


def _describe(ref: Reference, ch: PlanChange) -> str:
    name = ref.indicator_name(ch.indicator_code)
    if ch.kind == "allocation":
        return f"{ref.unit_name(ch.unit_code)}·{name}的分解目标"
    return f"{name}的{PLAN_KINDS[ch.kind]}"


def set_plan_values(con, actor: Account | None, ref: Reference, changes: list[PlanChange]) -> list[str]:
    """Set (or, with value None, return to the plan file's) baselines, targets and unit allocations.

    All changes are checked together first; any problem refuses them all (ValueError naming each).
    Each value that changes is a new ``plan_overrides`` row and an audit row (before, after);
    ``ref`` has them at once. -> warnings: allocations that do not add up to the region's target.
    """
    require(con, actor, ADMINISTER, what="修改计划目标和任务分解")
    ind = ref.plan.indicators.set_index("code")
    base = plan_file(ref.plan.id)
    problems: list[str] = []
    todo: list[tuple[PlanChange, float | None, float | None]] = []  # change, before, after
    proposed = {(k, c): float(ind.loc[c, k]) for c in ind.index for k in ("baseline", "target")}
    for ch in changes:
        if ch.kind not in PLAN_KINDS or ch.indicator_code not in ind.index:
            problems.append("只能修改本计划指标的基期值、目标值和分解目标")
            continue
        if ch.kind == "allocation" and ch.unit_code not in ref.lookups["unit"].names:
            problems.append(f"单位「{ch.unit_code}」不在单位名单中")
            continue
        if ch.kind != "allocation" and ch.unit_code is not None:
            problems.append("基期值和目标值是全区的，不分单位")
            continue
        what = _describe(ref, ch)
        before = _plan_value(ref.plan, ch.kind, ch.indicator_code, ch.unit_code)
        if ch.is_reset:
            after = _plan_value(base, ch.kind, ch.indicator_code, ch.unit_code)
        else:
            try:
                after = _parse_plan_value(ch.value, ind.loc[ch.indicator_code])
            except ValueError as exc:
                problems.append(f"{what}{exc}")
                continue
        row = ind.loc[ch.indicator_code]
        if ch.kind == "baseline" and row["kind"] == "flow" and after:
            problems.append(f"{what}：该指标按规划期内新增计数，基期值固定为0")
            continue
        if ch.kind == "allocation" and after is not None:
            floor = _unit_baseline(ref, ch.indicator_code, ch.unit_code)
            if after < floor:
                problems.append(f"{what}不能低于该单位的基期值{_number(floor)}")
                continue
        if ch.kind != "allocation":
            proposed[(ch.kind, ch.indicator_code)] = after
        todo.append((ch, before, after))
    for code in {ch.indicator_code for ch, _, _ in todo if ch.kind != "allocation"}:
        b, t = proposed[("baseline", code)], proposed[("target", code)]
        if t < b:
            problems.append(f"{ref.indicator_name(code)}的目标值{_number(t)}低于基期值{_number(b)}")
    if problems:
        raise ValueError("未保存：" + "；".join(dict.fromkeys(problems)) + "。")
    now = datetime.now()
    changed = _overridden(con, ref)
    for ch, before, after in todo:
        reset = ch.is_reset
        if reset and ch.key not in changed:
            continue  # already the file's value
        if not reset and before == after:
            continue
        overrides.insert_plan_value(con, ref.plan.id, ch.kind, ch.indicator_code, ch.unit_code,
                                    None if reset else after, now, actor.user_name)
        audit.record(con, actor, "plan_reset" if reset else ch.kind, unit_code=ch.unit_code,
                     object=f"{ref.plan.short_name}：{_describe(ref, ch)}", before=_number(before),
                     after=_number(after) + ("（计划文件中的值）" if reset else ""),
                     detail="恢复为计划文件中的值" if reset else None)
    _lay_plan(ref, overrides.plan_values(con, ref.plan.id))
    return allocation_warnings(ref)


def set_plan_value(con, actor: Account | None, ref: Reference, kind: str, indicator_code: str, value,
                   unit_code: str | None = None) -> list[str]:
    """One value (see ``set_plan_values``)."""
    return set_plan_values(con, actor, ref, [PlanChange(kind, indicator_code, value, unit_code)])


def reset_plan_value(con, actor: Account | None, ref: Reference, kind: str, indicator_code: str,
                     unit_code: str | None = None) -> list[str]:
    """Return one value to the plan file's (recorded); ValueError when it is not changed."""
    require(con, actor, ADMINISTER, what="修改计划目标和任务分解")
    ch = PlanChange(kind, indicator_code, None, unit_code)
    if ch.key not in _overridden(con, ref):
        raise ValueError(f"{_describe(ref, ch)}没有修改过，已是计划文件中的值。")
    return set_plan_values(con, actor, ref, [ch])


def _overridden(con, ref: Reference) -> set[tuple]:
    """(kind, indicator_code, unit_code) of every plan value the database changes now."""
    rows = overrides.plan_values(con, ref.plan.id)
    return {(k, c, u if isinstance(u, str) else None)
            for k, c, u in zip(rows["kind"], rows["indicator_code"], rows["unit_code"])}


def allocation_summary(ref: Reference) -> pd.DataFrame:
    """Per indicator with any allocation: indicator_code, name, target (region), allocated (sum over
    units), units (how many), difference (allocated - target)."""
    a = ref.plan.allocations
    ind = ref.plan.indicators.set_index("code")
    if a.empty:
        return pd.DataFrame(columns=["indicator_code", "name", "target", "allocated", "units", "difference"])
    g = a.groupby("indicator_code", sort=False).agg(allocated=("target", "sum"), units=("unit_code", "nunique"))
    g = g.reindex([c for c in ind.index if c in g.index])
    out = pd.DataFrame({"indicator_code": g.index, "name": ind.loc[g.index, "name"].values,
                        "target": ind.loc[g.index, "target"].values, "allocated": g["allocated"].values,
                        "units": g["units"].values})
    out["difference"] = out["allocated"] - out["target"]
    return out.reset_index(drop=True)


def allocation_warnings(ref: Reference) -> list[str]:
    """A sentence per indicator whose unit allocations do not add up to the region's target."""
    out = []
    for r in allocation_summary(ref).itertuples():
        if r.difference:
            word = "多" if r.difference > 0 else "少"
            out.append(f"「{r.name}」各单位分解目标合计{_number(r.allocated)}（{r.units}个单位），"
                       f"比全区目标{_number(r.target)}{word}{_number(abs(r.difference))}。")
    return out


def plan_table(con, ref: Reference) -> pd.DataFrame:
    """Per plan indicator: code, name, measure, kind, the plan file's baseline and target next to the ones
    in use, and who changed them last when (changed_at, changed_by; empty when unchanged)."""
    base = plan_file(ref.plan.id).indicators.set_index("code")
    ind = ref.plan.indicators
    rows = overrides.plan_values(con, ref.plan.id) if table_exists(con, "plan_overrides") else pd.DataFrame(
        columns=["kind", "indicator_code", "unit_code", "value", "changed_at", "changed_by"])
    own = rows[rows["kind"].isin(["baseline", "target"])].sort_values("changed_at").groupby("indicator_code").last()
    return pd.DataFrame({
        "indicator_code": ind["code"], "name": ind["name"], "measure": ind["unit"], "kind": ind["kind"],
        "file_baseline": ind["code"].map(base["baseline"]).astype(float), "baseline": ind["baseline"].astype(float),
        "file_target": ind["code"].map(base["target"]).astype(float), "target": ind["target"].astype(float),
        "changed_at": ind["code"].map(own["changed_at"]) if len(own) else None,
        "changed_by": ind["code"].map(own["changed_by"]) if len(own) else None,
    }).reset_index(drop=True)


def allocation_matrix(ref: Reference, plan=None) -> pd.DataFrame:
    """Units (rows, by code, in unit order) x indicator codes (columns): the allocated targets of ``plan``
    (the one in use unless given); NaN where a unit has none."""
    plan = plan or ref.plan
    a = plan.allocations
    m = a.pivot_table(index="unit_code", columns="indicator_code", values="target", aggfunc="first") if len(a) \
        else pd.DataFrame()
    return m.reindex(index=ref.unit_codes, columns=ref.plan.indicators["code"].tolist()).astype(float)


def plan_changes(con, ref: Reference) -> pd.DataFrame:
    """Every plan value changed in the database now: kind, kind_zh, indicator_code, unit_code, what
    (Chinese), file_value, value, changed_at, changed_by (newest first)."""
    rows = overrides.plan_values(con, ref.plan.id)
    if rows.empty:
        return rows.assign(kind_zh=[], what=[], file_value=[])
    rows["unit_code"] = rows["unit_code"].where(rows["unit_code"].notna(), None)
    base = plan_file(ref.plan.id)
    rows["kind_zh"] = rows["kind"].map(PLAN_KINDS)
    rows["what"] = [_describe(ref, PlanChange(k, c, None, u)) for k, c, u in
                    zip(rows["kind"], rows["indicator_code"], rows["unit_code"])]
    rows["file_value"] = [_plan_value(base, k, c, u) for k, c, u in
                          zip(rows["kind"], rows["indicator_code"], rows["unit_code"])]
    return rows.sort_values("changed_at", ascending=False).reset_index(drop=True)


def edits_of_plan_table(ref: Reference, edited: pd.DataFrame) -> list[PlanChange]:
    """The changes an edited ``plan_table`` (columns indicator_code, baseline, target) asks for; an emptied
    cell returns the value to the plan file's."""
    now = ref.plan.indicators.set_index("code")
    out = []
    for r in edited.itertuples():
        for kind in ("baseline", "target"):
            v = getattr(r, kind)
            if v is None or pd.isna(v):
                out.append(PlanChange(kind, r.indicator_code, None))
            elif float(v) != float(now.loc[r.indicator_code, kind]):
                out.append(PlanChange(kind, r.indicator_code, v))
    return out


def edits_of_allocation_matrix(ref: Reference, edited: pd.DataFrame) -> list[PlanChange]:
    """The changes an edited ``allocation_matrix`` (index unit codes, columns indicator codes) asks for;
    an emptied cell returns that allocation to the plan file's (none, when the file has none)."""
    now = allocation_matrix(ref)
    out = []
    for unit in edited.index:
        for code in edited.columns:
            if code not in now.columns or unit not in now.index:
                continue
            new, old = edited.loc[unit, code], now.loc[unit, code]
            if pd.isna(new) and pd.isna(old):
                continue
            if pd.isna(new):
                out.append(PlanChange("allocation", code, None, unit))
            elif pd.isna(old) or float(new) != float(old):
                out.append(PlanChange("allocation", code, new, unit))
    return out
