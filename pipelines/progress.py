"""Progress against target and against elapsed time (完成率 vs 时间进度).

Rules (DOMAIN.md): for an as-of date D, a unit's value of an indicator is the
value in its current return for the latest period ending on or before D in
which it reported that indicator. The figure is *current* when that period
ends on the reference date R(D) — the end of the latest expected reporting
period (data/settings.yaml ``reporting_frequency``) on or before D — and
*carried forward* otherwise. Region-wide values are sums over units.

Example:
    python -m pipelines.progress --db var/kjhz.duckdb --as-of 2019-06-30 --json
"""
from __future__ import annotations

import argparse
import calendar
import json
import math
import sys
from datetime import date
from pathlib import Path

import pandas as pd

from .normalise import time_progress
from .reference import Reference, load_reference
from .vocab import (  # noqa: F401  (the statuses are re-exported: callers import them from here)
    STATE_CARRIED, STATE_CURRENT, STATE_NO_RETURN, STATUS_AHEAD, STATUS_BEHIND, STATUS_DONE, STATUS_NO_TARGET,
    STATUS_NONE, STATUS_ORDER, STATUS_SLIGHT, STATUS_SUBSET, as_of_phrase, reporting_frequency,
)

PROGRESS_COLUMNS = ["indicator_code", "value", "baseline", "target", "completion_rate", "time_progress",
                    "gap_pp", "status", "units_current", "units_carried"]


def status_of(completion_rate: float | None, gap_pp: float | None) -> str:
    """DOMAIN.md: 已完成 >= 100%; 超前 gap >= 0; 略滞后 -10 <= gap < 0; 滞后 gap < -10."""
    if completion_rate is None or gap_pp is None or (isinstance(completion_rate, float) and math.isnan(completion_rate)):
        return STATUS_NONE
    if completion_rate >= 1 - 1e-12:
        return STATUS_DONE
    if gap_pp >= -1e-9:
        return STATUS_AHEAD
    if gap_pp >= -10 - 1e-9:
        return STATUS_SLIGHT
    return STATUS_BEHIND


def reference_end(as_of: date, frequency: str = "H") -> date:
    """The end of the latest expected reporting period ending on or before ``as_of``."""
    step = {"Q": 3, "H": 6, "Y": 12}[frequency]
    y, m = as_of.year, as_of.month
    last_month = ((m - 1) // step + 1) * step  # the month the current period ends
    end = date(y, last_month, calendar.monthrange(y, last_month)[1])
    if end <= as_of:
        return end
    pm = last_month - step
    if pm <= 0:
        return date(y - 1, 12, 31)
    return date(y, pm, calendar.monthrange(y, pm)[1])


def unit_values(con, as_of: date) -> pd.DataFrame:
    """Each unit's value per indicator at ``as_of``, with the period it comes from."""
    return con.execute("""
        SELECT unit_code, indicator_code, value, period_end, period_code FROM (
            SELECT unit_code, indicator_code, value, period_end, period_code,
                   row_number() OVER (PARTITION BY unit_code, indicator_code ORDER BY period_end DESC) AS rn
            FROM v_indicator_values WHERE period_end <= ?)
        WHERE rn = 1""", [as_of]).df()


def _targets(ref: Reference, unit: str | None) -> pd.DataFrame:
    ind = ref.plan.indicators[["code", "name", "short_name", "unit", "target", "baseline", "kind", "sort"]].copy()
    ind = ind.rename(columns={"code": "indicator_code", "unit": "measure"})
    if unit is None:
        return ind
    alloc = ref.plan.allocations
    alloc = alloc[alloc["unit_code"] == unit].set_index("indicator_code")
    ind["target"] = ind["indicator_code"].map(alloc["target"]) if len(alloc) else float("nan")
    ind["baseline"] = ind["indicator_code"].map(alloc["baseline"]).fillna(0.0) if len(alloc) else 0.0
    return ind


def progress_table(con, as_of: date, unit: str | None = None, ref: Reference | None = None,
                   units: list[str] | None = None) -> pd.DataFrame:
    """One row per plan indicator: value, target, 完成率, 时间进度, 差距, status, basis.

    ``unit``: one unit's own progress against its allocated target (NaN target
    when none is allocated). ``units``: restrict the region-wide sum to these units;
    the rate is then their share of the region's target and the status 不作判断.
    """
    ref = ref or load_reference()
    plan = ref.plan
    r_end = reference_end(as_of, reporting_frequency(ref))
    vals = unit_values(con, as_of)
    if unit is not None:
        vals = vals[vals["unit_code"] == unit]
    elif units is not None:
        vals = vals[vals["unit_code"].isin(units)]
    vals = vals.assign(is_current=vals["period_end"].dt.date == r_end if len(vals) else pd.Series(dtype=bool))
    agg = vals.groupby("indicator_code").agg(
        value=("value", "sum"),
        units_current=("is_current", "sum"),
        units_reporting=("unit_code", "nunique"),
    )
    agg["units_carried"] = agg["units_reporting"] - agg["units_current"]
    out = _targets(ref, unit).merge(agg, how="left", left_on="indicator_code", right_index=True)
    out["units_current"] = out["units_current"].fillna(0).astype(int)
    out["units_carried"] = out["units_carried"].fillna(0).astype(int)
    out["units_reporting"] = out["units_reporting"].fillna(0).astype(int)
    tp = time_progress(plan.start, plan.end, as_of)
    out["time_progress"] = tp
    span = out["target"] - out["baseline"]
    has = out["value"].notna() & span.notna() & (span != 0)
    out["completion_rate"] = ((out["value"] - out["baseline"]) / span).where(has)
    out["gap_pp"] = ((out["completion_rate"] - tp) * 100).where(has)
    out["status"] = [status_of(None if pd.isna(c) else c, None if pd.isna(g) else g)
                     for c, g in zip(out["completion_rate"], out["gap_pp"])]
    no_target = out["value"].notna() & ~has
    out.loc[no_target, "status"] = STATUS_NO_TARGET
    if unit is None and units is not None:
        # part of the region against the whole region's target: a share, not a verdict
        out.loc[out["value"].notna(), "status"] = STATUS_SUBSET
    out["value"] = out["value"].astype("Int64")
    cols = PROGRESS_COLUMNS + ["name", "short_name", "measure", "kind", "units_reporting"]
    return out.sort_values("sort")[cols].reset_index(drop=True)


def carried_figures(con, as_of: date, ref: Reference | None = None) -> pd.DataFrame:
    """Figures taken from a period before the reference period: unit, indicator, from which period."""
    ref = ref or load_reference()
    r_end = reference_end(as_of, reporting_frequency(ref))
    vals = unit_values(con, as_of)
    if vals.empty:
        return vals.assign(unit_name=[], indicator_name=[])
    carried = vals[vals["period_end"].dt.date != r_end].copy()
    carried["unit_name"] = carried["unit_code"].map(ref.unit_name)
    carried["indicator_name"] = carried["indicator_code"].map(ref.indicator_name)
    return carried.sort_values(["unit_code", "indicator_code"]).reset_index(drop=True)


def return_basis(con, as_of: date, ref: Reference | None = None) -> pd.DataFrame:
    """Per unit: the latest current return on or before ``as_of`` and whether it is current.

    state: 当期 (a return for the reference period), 结转 (only an earlier one), 缺报 (none).
    """
    ref = ref or load_reference()
    r_end = reference_end(as_of, reporting_frequency(ref))
    latest = con.execute("""
        SELECT unit_code, period_end, period_code, version, received_at, submission_id FROM (
            SELECT *, row_number() OVER (PARTITION BY unit_code ORDER BY period_end DESC) AS rn
            FROM v_submissions WHERE period_end <= ?) WHERE rn = 1""", [as_of]).df()
    units = ref.units[["code", "name", "sort"]].rename(columns={"code": "unit_code", "name": "unit_name"})
    out = units.merge(latest, how="left", on="unit_code")
    pe = pd.to_datetime(out["period_end"]).dt.date
    out["state"] = [STATE_NO_RETURN if pd.isna(p) else (STATE_CURRENT if p == r_end else STATE_CARRIED) for p in pe]
    out["reference_end"] = r_end
    return out.sort_values("sort").drop(columns="sort").reset_index(drop=True)


# --------------------------------------------------------------------------
def gap_phrase(gap_pp: float) -> str:
    if abs(gap_pp) < 0.05:
        return "与时间进度持平"
    return f"{'高于' if gap_pp > 0 else '低于'}时间进度{abs(gap_pp):.1f}个百分点"


def indicator_sentence(row, as_of: date, scope: str = "全区", sentences: dict | None = None) -> str:
    """「截至2019年6月底，全区累计建成院士专家工作站126家，完成目标的70.0%，高于时间进度20.0个百分点。」"""
    template = (sentences or {}).get(row.indicator_code) or f"{row.name}累计{{value}}{row.measure}"
    head = f"{as_of_phrase(as_of)}，{scope}"
    if pd.isna(row.value):
        return f"{head}{row.name}暂无报送数据。"
    body = template.format(value=int(row.value))
    if pd.isna(row.completion_rate):
        return f"{head}{body}。"
    if row.status == STATUS_SUBSET:
        return f"{head}{body}，占全区目标的{row.completion_rate * 100:.1f}%。"
    return f"{head}{body}，完成目标的{row.completion_rate * 100:.1f}%，{gap_phrase(row.gap_pp)}。"


def summary_sentence(table: pd.DataFrame, as_of: date, scope: str = "全区", coverage: str | None = None) -> str:
    """The headline; ``coverage`` (e.g. 「13个填报单位中12个当期报送、1个沿用上期」) is added when not all are current."""
    tail = f"（{coverage}）" if coverage else ""
    counts = table["status"].value_counts()
    tp = table["time_progress"].iloc[0] if len(table) else 0
    if counts.get(STATUS_SUBSET, 0):
        return (f"{as_of_phrase(as_of)}，{scope}报送的{int(counts[STATUS_SUBSET])}项指标合计如下（占全区目标的比例，"
                f"不判断完成状态）；时间进度为{tp * 100:.1f}%{tail}。")
    parts = [f"{s}{int(counts.get(s, 0))}项" for s in STATUS_ORDER if counts.get(s, 0)]
    return (f"{as_of_phrase(as_of)}，{scope}{len(table)}项指标中，" + "，".join(parts)
            + f"；时间进度为{tp * 100:.1f}%{tail}。")


def sentences_for(ref: Reference) -> dict:
    ind = ref.plan.indicators
    if "sentence" not in ind:
        return {}
    return {c: s for c, s in zip(ind["code"], ind["sentence"]) if isinstance(s, str)}


# --------------------------------------------------------------------------
def _json_value(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def main(argv: list[str] | None = None) -> int:
    from .store import DEFAULT_DB, connect

    ap = argparse.ArgumentParser(prog="python -m pipelines.progress",
                                 description="按截止日期计算各指标完成率、时间进度和差距（与总览页同一算法）")
    ap.add_argument("--db", default=str(DEFAULT_DB))
    ap.add_argument("--as-of", required=True, help="截止日期，如 2019-06-30")
    ap.add_argument("--unit", default=None, help="单位编码（如 150200），只看该单位")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        as_of = date.fromisoformat(args.as_of)
    except ValueError:
        ap.error(f"无法识别日期「{args.as_of}」，请写成 2019-06-30")
    ref = load_reference()
    unit = None
    if args.unit:
        m = ref.lookups["unit"].resolve(args.unit)
        if not m.ok:
            ap.error(f"无法识别单位「{args.unit}」" + (f"，是否为「{m.suggestion}」？" if m.suggestion else ""))
        unit = m.code
    if not Path(args.db).exists():
        ap.error(f"数据库不存在：{args.db}")
    with connect(args.db) as con:
        table = progress_table(con, as_of, unit=unit, ref=ref)
    if args.json:
        rows = [{k: _json_value(r[k]) for k in PROGRESS_COLUMNS} for r in table.to_dict("records")]
        json.dump({"as_of": as_of.isoformat(), "unit": unit, "indicators": rows}, sys.stdout,
                  ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        show = table[PROGRESS_COLUMNS].copy()
        show.insert(1, "name", table["short_name"])
        for c in ("completion_rate", "time_progress"):
            show[c] = show[c].map(lambda x: "" if pd.isna(x) else f"{x * 100:.1f}%")
        show["gap_pp"] = show["gap_pp"].map(lambda x: "" if pd.isna(x) else f"{x:+.1f}")
        print(show.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
