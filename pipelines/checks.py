"""Check a return cell by cell: raw sheets -> typed tables + a Report.

``check_return(data, file_name)`` is the one entry point the upload page, the
command line, the demo generator and the benchmark all use. 表2's columns
are checked a distinct value at a time and rows are flagged with Arrow masks,
so a 50,000-row return costs little more than reading it.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from itertools import chain

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .issues import Issue, Report, hint_from, make_issue
from .normalise import (
    INVISIBLE_RE2, Period, invisible_chars, is_blank, odd_digits, parse_date, parse_number, parse_period,
    period_label, raw_text, split_partners, strip_invisible,
)
from .read import DEFAULT_LIMITS, Limits, RawWorkbook, Sheet, _col_letters, _col_number, long_cell_issues, read_workbook
from .reference import Reference, load_reference, norm_key
from .vocab import max_count, max_funding_wan

# --------------------------------------------------------------------------
# The return format's headers (RETURN_FORMAT.md): key -> accepted spellings.
COVER_LABELS = {
    "unit": ("填报单位",),
    "period": ("报告期", "报告期间", "报送期"),
    "filler": ("填报人",),
    "phone": ("联系电话", "电话"),
    "fill_date": ("填报日期",),
}
COVER_REQUIRED = ("unit", "period")

IND_HEADERS = {
    "code": ("指标编码", "编码", "指标代码"),
    "name": ("指标名称",),
    "measure": ("计量单位", "单位"),
    "value": ("截至本期末累计值", "本期末累计值", "累计值", "截至期末累计值"),
    "increase": ("其中：本期新增", "其中:本期新增", "本期新增"),
    "note": ("备注",),
}
ITEM_HEADERS = {
    "seq": ("序号",),
    "name": ("事项名称", "名称", "项目名称"),
    "type": ("事项类别", "类别"),
    "sector": ("所属领域", "领域"),
    "partners": ("合作国家（地区）", "合作国家/地区", "合作国家或地区", "合作国家", "合作国别"),
    "partner_institutions": ("合作单位", "合作机构"),
    "local_institution": ("本地承担单位", "承担单位"),
    "start_date": ("起始日期", "开始日期", "起始时间"),
    "status": ("状态",),
    "funding": ("投入经费（万元）", "投入经费(万元)", "投入经费", "经费（万元）"),
    "note": ("备注",),
}
ITEM_REQUIRED = ("name", "type", "sector")
NOTE_PREFIXES = ("注：", "注:", "说明：", "说明:", "填表说明", "填报说明", "备注：", "备注:")
TOTAL_MARKS = {"合计", "总计", "小计", "合计：", "总计："}

PARTNER_KIND_ZH = {"foreign": "外国", "domestic": "国内地区"}
NEED_ZH = {"foreign": "外国合作国家", "domestic": "国内合作省（区、市）", "any": "合作国家（地区）"}


@dataclass
class CheckedReturn:
    file_name: str
    file_hash: str
    unit_code: str | None = None
    period: Period | None = None
    cover: dict = field(default_factory=dict)
    indicators: pd.DataFrame | None = None
    items: pd.DataFrame | None = None
    item_partners: pd.DataFrame | None = None
    report: Report = field(default_factory=Report)
    sheet_names: dict = field(default_factory=dict)
    value_header: str = "截至本期末累计值"  # 表1's value column header as found in the file
    failure: BaseException | None = None  # the exception behind an internal-error issue, for the log

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def period_end(self) -> date | None:
        return self.period.end if self.period else None


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------
def _match_headers(row: list, spec: dict[str, tuple[str, ...]]) -> dict[str, tuple[int, str]]:
    """-> key: (column index, header text as found, whitespace removed)."""
    wanted = {norm_key(s): key for key, spellings in spec.items() for s in spellings}
    found: dict[str, tuple[int, str]] = {}
    for idx, cell in enumerate(row):
        k = norm_key(cell)
        key = wanted.get(k)
        if key and key not in found:
            found[key] = (idx, "".join(str(cell).split()))
    return found


def _find_header(rows: list[list], spec: dict, must: tuple[str, ...], scan: int = 30):
    best, best_n = None, 0
    for r in range(min(scan, len(rows))):
        found = _match_headers(rows[r], spec)
        if all(m in found for m in must):
            return r, found
        if len(found) > best_n:
            best, best_n = (r, found), len(found)
    return best if best_n >= 2 else None


# --------------------------------------------------------------------------
def _check_cover(rows: list[list], sheet: str, ref: Reference, out: CheckedReturn, today: date) -> None:
    rep = out.report
    labels = {norm_key(s): key for key, spellings in COVER_LABELS.items() for s in spellings}
    found: dict[str, tuple[int, str, object]] = {}
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            key = labels.get(norm_key(cell)) if isinstance(cell, str) else None
            if key and key not in found:
                value = ""
                for nxt in row[c + 1:c + 4]:  # next non-empty cell to the right
                    if raw_text(nxt):
                        value = nxt
                        break
                found[key] = (r + 1, "".join(str(cell).split()).rstrip("：:"), value)
    for key in COVER_REQUIRED:
        if key not in found:
            rep.add(make_issue("label-missing", sheet=sheet, expected=COVER_LABELS[key][0]))
        elif not raw_text(found[key][2]):
            row, col, _ = found[key]
            rep.add(make_issue("missing-value", sheet=sheet, row=row, column=col, value=""))

    if "unit" in found and raw_text(found["unit"][2]):
        row, col, value = found["unit"]
        text = raw_text(value)
        m = ref.lookups["unit"].resolve(text)
        if m.ok:
            out.unit_code = m.code
        elif m.candidates:
            rep.add(make_issue("ambiguous-unit", sheet=sheet, row=row, column=col, value=text,
                               note=m.note or f"可能是{m.suggestion}", suggestion=m.suggestion))
        else:
            rep.add(make_issue("unknown-unit", sheet=sheet, row=row, column=col, value=text,
                               hint=hint_from(m.suggestion), suggestion=m.suggestion))
    if "period" in found and raw_text(found["period"][2]):
        row, col, value = found["period"]
        text = raw_text(value)
        p = parse_period(value)
        plan = ref.plan
        if p is None and odd_digits(text):
            rep.add(make_issue("odd-digits", sheet=sheet, row=row, column=col, value=text,
                               chars="」「".join(odd_digits(text))))
        elif p is None:
            rep.add(make_issue("unknown-period", sheet=sheet, row=row, column=col, value=text,
                               suggestion="2019年第二季度、2019年上半年、2019年度"))
        elif p.end < plan.start or p.start > plan.end:
            rep.add(make_issue("period-outside-plan", sheet=sheet, row=row, column=col, value=text,
                               plan=plan.short_name, start=plan.start, end=plan.end))
            out.period = p
        elif p.start > today:
            rep.add(make_issue("period-future", sheet=sheet, row=row, column=col, value=text, today=today))
            out.period = p
        else:
            if p.end > today:
                rep.add(make_issue("period-not-ended", sheet=sheet, row=row, column=col, value=text, end=p.end))
            out.period = p
    for key in ("filler", "phone"):
        if key in found:
            out.cover[key] = raw_text(found[key][2]) or None
    if "fill_date" in found and raw_text(found["fill_date"][2]):
        row, col, value = found["fill_date"]
        d, why = parse_date(value)
        if why:
            rep.add(make_issue("invalid-date", sheet=sheet, row=row, column=col, value=raw_text(value),
                               severity="warning", hint=f"（{why}）"))
        out.cover["fill_date"] = d


# --------------------------------------------------------------------------
def _read_count(cell, sheet: str, row: int, col: str, rep: Report, limit: int) -> float | None:
    """A whole number cell from 0 to ``limit``; None when blank or invalid."""
    n = parse_number(cell)
    raw = raw_text(cell)
    if n.problem == "odd-digits":
        rep.add(make_issue("odd-digits", sheet=sheet, row=row, column=col, value=raw,
                           chars="」「".join(odd_digits(raw))))
        return None
    if n.problem:
        rep.add(make_issue(n.problem, sheet=sheet, row=row, column=col, value=raw,
                           hint="，请填写阿拉伯数字；未填报请留空"))
        return None
    if n.value is None:
        return None
    if n.value < 0:
        rep.add(make_issue("negative-number", sheet=sheet, row=row, column=col, value=raw))
        return None
    if not float(n.value).is_integer():
        rep.add(make_issue("not-whole-number", sheet=sheet, row=row, column=col, value=raw))
        return None
    if n.value > limit:
        rep.add(make_issue("number-too-large", sheet=sheet, row=row, column=col, value=raw, limit=f"{limit:,}"))
        return None
    if n.normalised:
        rep.add(make_issue("number-normalised", sheet=sheet, row=row, column=col, value=raw,
                           number=int(n.value)))
    return n.value


def _check_indicators(rows: list[list], sheet: str, ref: Reference, out: CheckedReturn) -> None:
    rep = out.report
    hit = _find_header(rows, IND_HEADERS, ("value",))
    if hit is None or "value" not in hit[1] or not ({"code", "name"} & hit[1].keys()):
        missing = "截至本期末累计值" if hit and "value" not in hit[1] else "指标编码"
        if hit is None:
            rep.add(make_issue("header-missing", sheet=sheet, expected="指标编码、指标名称、截至本期末累计值"))
        else:
            rep.add(make_issue("column-missing", sheet=sheet, expected=missing if "value" not in hit[1]
                               else "指标编码」或「指标名称"))
        return
    h, cols = hit
    out.value_header = cols["value"][1]
    lookup = ref.lookups["indicator"]
    seen: dict[str, int] = {}
    records = []
    for r in range(h + 1, len(rows)):
        row = rows[r]
        excel_row = r + 1
        code_raw = raw_text(row[cols["code"][0]]) if "code" in cols else ""
        name_raw = raw_text(row[cols["name"][0]]) if "name" in cols else ""
        value_cell = row[cols["value"][0]]
        inc_cell = row[cols["increase"][0]] if "increase" in cols else ""
        if (code_raw or name_raw).startswith(NOTE_PREFIXES):  # a note line under the table
            continue
        if not code_raw and not name_raw:
            if not is_blank(value_cell):
                rep.add(make_issue("unknown-indicator", sheet=sheet, row=excel_row,
                                   column=cols.get("code", cols.get("name"))[1], value="",
                                   hint="：有数值但没有指标编码和名称"))
            continue
        code = None
        if code_raw:
            m = lookup.resolve(code_raw)
            if m.ok:
                code = m.code
                if name_raw:
                    mn = lookup.resolve(name_raw)
                    if mn.code != code:
                        rep.add(make_issue("indicator-name-mismatch", sheet=sheet, row=excel_row,
                                           column=cols["name"][1], value=name_raw, ind=code,
                                           expected=lookup.names[code]))
            elif norm_key(code_raw) in TOTAL_MARKS:
                continue
            else:
                col = cols["code"][1]
                rep.add(make_issue("unknown-indicator", sheet=sheet, row=excel_row, column=col, value=code_raw,
                                   hint=hint_from(m.suggestion), suggestion=m.suggestion))
                continue
        else:
            m = lookup.resolve(name_raw)
            if not m.ok:
                if norm_key(name_raw) in TOTAL_MARKS:
                    continue
                rep.add(make_issue("unknown-indicator", sheet=sheet, row=excel_row, column=cols["name"][1],
                                   value=name_raw, hint=hint_from(m.suggestion), suggestion=m.suggestion))
                continue
            code = m.code
        if code in seen:
            rep.add(make_issue("duplicate-indicator", sheet=sheet, row=excel_row,
                               column=cols.get("code", cols.get("name"))[1], value=code_raw or name_raw,
                               ind=code, other_row=seen[code]))
            continue
        seen[code] = excel_row
        value = _read_count(value_cell, sheet, excel_row, cols["value"][1], rep, max_count(ref))
        increase = (_read_count(inc_cell, sheet, excel_row, cols["increase"][1], rep, max_count(ref))
                    if "increase" in cols else None)
        note = raw_text(row[cols["note"][0]]) if "note" in cols else ""
        if value is None and increase is None and not note:
            continue
        records.append({"indicator_code": code, "value": value, "increase": increase,
                        "note": note or None, "row": excel_row})
    df = pd.DataFrame(records, columns=["indicator_code", "value", "increase", "note", "row"])
    df["value"] = df["value"].astype("Int64")
    df["increase"] = df["increase"].astype("Int64")
    out.indicators = df


# --------------------------------------------------------------------------
def _partner_info(ref: Reference):
    lookup = ref.lookups["partner"]
    kinds = dict(zip(ref.partners["code"], ref.partners["kind"]))

    resolved: dict[str, object] = {}  # a country recurs in many cells: one lookup per spelling

    def info(raw):
        parts = split_partners(raw)
        codes, problems = [], []
        for p in parts:
            m = resolved.get(p)
            if m is None:
                m = resolved[p] = lookup.resolve(p)
            if m.ok:
                if m.code not in codes:
                    codes.append(m.code)
            elif m.candidates or m.note:
                problems.append(("ambiguous-partner", p, m.suggestion, m.note))
            else:
                problems.append(("unknown-partner", p, m.suggestion, None))
        ks = [kinds[c] for c in codes]
        return (codes, tuple(ks), tuple(problems))  # one codes list per distinct cell, shared by its rows
    return info


def _check_items(sheet_data: Sheet, sheet: str, ref: Reference, out: CheckedReturn) -> None:
    """表2, a whole column at a time (Arrow compute): each lookup or parse runs
    once per distinct cell text, and only rows with a problem are visited in Python."""
    rep = out.report
    hit = _find_header(sheet_data.rows(30), ITEM_HEADERS, ITEM_REQUIRED)
    if hit is None:
        rep.add(make_issue("header-missing", sheet=sheet, expected="事项名称、事项类别、所属领域"))
        return
    h, cols = hit
    missing = [ITEM_HEADERS[k][0] for k in ITEM_REQUIRED if k not in cols]
    for m in missing:
        rep.add(make_issue("column-missing", sheet=sheet, expected=m))
    if missing:
        return
    n_body = max(sheet_data.num_rows - h - 1, 0)
    blank = pa.nulls(n_body, pa.string()).fill_null("")
    txt = {k: (pc.utf8_trim_whitespace(sheet_data.column(cols[k][0]).slice(h + 1)) if k in cols else blank)
           for k in ITEM_HEADERS}

    keep = _item_rows(txt)
    if keep is not None:
        txt = {k: v.filter(keep) for k, v in txt.items()}
        rowno = (np.flatnonzero(keep.to_numpy(zero_copy_only=False)) + h + 2).tolist()
    else:
        rowno = list(range(h + 2, h + 2 + n_body))
    col = {k: cols[k][1] for k in cols}
    text = {k: _LazyList(v) for k, v in txt.items()}  # cell text of one row, for messages

    def where(mask) -> list[int]:
        return pc.indices_nonzero(mask).to_pylist()

    def rows_with(key: str, values: list) -> list[int]:
        return where(pc.is_in(txt[key], value_set=pa.array(values, pa.string()))) if values else []

    def add(code: str, idx: list[int], key: str, **fields) -> None:
        for i in idx:
            rep.add(make_issue(code, sheet=sheet, row=rowno[i], column=col[key], value=text[key][i], **fields))

    for key in ITEM_REQUIRED:
        add("missing-value", where(pc.equal(txt[key], "")), key)

    # item type, sector, status: one lookup per distinct text
    tl = ref.lookups["item_type"]
    tmatch = _Distinct(txt["type"], tl.resolve)
    for i in rows_with("type", [v for v, m in tmatch.items() if m.code is None and v]):
        m = tmatch[text["type"][i]]
        hint = hint_from(m.suggestion, m.note) if m.suggestion else "；计划所列类别之外的事项请填「其他合作事项」"
        rep.add(make_issue("unknown-item-type", sheet=sheet, row=rowno[i], column=col["type"],
                           value=text["type"][i], hint=hint, suggestion=m.suggestion or "其他合作事项"))
    item_type = tmatch.column(lambda m: m.code)
    feeds = {r.name: (r.indicator_code or None) for r in ref.item_types.itertuples()}
    needs = dict(zip(ref.item_types["name"], ref.item_types["partner_required"]))

    smatch = _Distinct(txt["sector"], ref.lookups["sector"].resolve)
    for i in rows_with("sector", [v for v, m in smatch.items() if m.code is None and v]):
        m = smatch[text["sector"][i]]
        rep.add(make_issue("unknown-sector", sheet=sheet, row=rowno[i], column=col["sector"],
                           value=text["sector"][i], hint=hint_from(m.suggestion), suggestion=m.suggestion))

    # partners: parsed once per distinct text; the item type's requirement checked on whole columns
    pinfo = _Distinct(txt["partners"], _partner_info(ref))
    partner_col = col.get("partners", ITEM_HEADERS["partners"][0])
    need = tmatch.column(lambda m: needs.get(m.code) or "")
    has = {kind: pinfo.column(lambda info, kind=kind: kind in info[1], pa.bool_()) for kind in ("foreign", "domestic")}
    has_any = pinfo.column(lambda info: bool(info[1]), pa.bool_())
    probs = pinfo.column(lambda info: bool(info[2]), pa.bool_())
    unmet = pc.or_(pc.or_(pc.and_(pc.equal(need, "foreign"), pc.invert(has["foreign"])),
                          pc.and_(pc.equal(need, "domestic"), pc.invert(has["domestic"]))),
                   pc.and_(pc.equal(need, "any"), pc.invert(has_any)))
    for i in where(pc.or_(probs, unmet)):
        codes, kinds, problems = pinfo[text["partners"][i]]
        for code, part, sugg, note in problems:
            rep.add(make_issue(code, sheet=sheet, row=rowno[i], column=partner_col, value=text["partners"][i],
                               part=part, hint=hint_from(sugg), note=note or "", suggestion=sugg))
        if problems:
            continue
        t = item_type[i].as_py()
        wanted = need[i].as_py()
        if codes:  # partners given, but of the other kind
            rep.add(make_issue("partner-wrong-kind", sheet=sheet, row=rowno[i], column=partner_col,
                               value=text["partners"][i], part_name=ref.partner_name(codes[0]),
                               part_kind=PARTNER_KIND_ZH[kinds[0]]
                               + ("（中国的地区，不是外国）" if kinds[0] == "domestic" else ""),
                               item_type=t, need=NEED_ZH[wanted],
                               suggestion="国内科技合作项目" if t == "国际科技合作项目" else None))
        else:
            rep.add(make_issue("partner-required", sheet=sheet, row=rowno[i], column=partner_col,
                               value=text["partners"][i], item_type=t, need=NEED_ZH[wanted]))

    stl = ref.lookups["status"]
    smap = _Distinct(txt["status"], lambda v: stl.resolve(v).code)
    add("unknown-status", rows_with("status", [v for v, c in smap.items() if c is None and v]), "status",
        expected="、".join(stl.names))
    live_status = dict(zip(ref.statuses["name"], ref.statuses["is_live"]))
    is_live = smap.column(lambda c: bool(live_status.get(c, True)), pa.bool_())

    # start date
    dparsed = _Distinct(txt["start_date"], parse_date)
    for i in rows_with("start_date", [v for v, (_, why) in dparsed.items() if why]):
        rep.add(make_issue("invalid-date", sheet=sheet, row=rowno[i], column=col["start_date"],
                           value=text["start_date"][i], hint=f"（{dparsed[text['start_date'][i]][1]}），"
                           "请写成 2019-03-15 或 2019年3月15日"))
    start = dparsed.column(lambda r: r[0], pa.date32())
    if out.period is not None and "start_date" in col:
        end = out.period.end
        for i in where(pc.fill_null(pc.greater(start, pa.scalar(end, pa.date32())), False)):
            rep.add(make_issue("date-after-period", sheet=sheet, row=rowno[i], column=col["start_date"],
                               value=text["start_date"][i], date=start[i].as_py(), end=end))

    # funding
    fparsed = _Distinct(txt["funding"], _funding)
    add("not-a-number", rows_with("funding", [v for v, (_, p) in fparsed.items() if p == "not-a-number"]),
        "funding", hint="，投入经费请填写数字（万元）")
    add("negative-funding", rows_with("funding", [v for v, (_, p) in fparsed.items() if p == "negative"]),
        "funding")
    for v, (_, p) in fparsed.items():
        if p == "odd-digits":
            add("odd-digits", rows_with("funding", [v]), "funding", chars="」「".join(odd_digits(v)))
    limit = max_funding_wan(ref)
    add("funding-too-large", rows_with("funding", [v for v, (f, _) in fparsed.items() if f > limit]), "funding",
        limit=f"{limit:,.0f}")
    funding = fparsed.column(lambda r: r[0] if r[0] <= limit else np.nan, pa.float64())

    # duplicates: same name and type (names compared as norm_key does)
    name = txt["name"]
    name_key = pc.utf8_lower(pc.replace_substring_regex(pc.utf8_normalize(name, "NFKC"), r"[\s:：]+", ""))
    type_key = pc.coalesce(item_type, txt["type"])
    named = pc.not_equal(name, "")
    keys = pc.binary_join_element_wise(name_key, type_key, "\x1f")
    named_keys = keys.filter(named)
    if pc.count_distinct(named_keys).as_py() < len(named_keys):
        first_seen: dict[str, int] = {}
        for i, (k, nm) in enumerate(zip(keys.to_pylist(), name.to_pylist())):
            if not nm:
                continue
            if k in first_seen:
                rep.add(make_issue("duplicate-item", sheet=sheet, row=rowno[i], column=col["name"], value=nm,
                                   item_type=type_key[i].as_py(), other_row=first_seen[k]))
            else:
                first_seen[k] = rowno[i]

    def nullable(arr: pa.Array) -> pa.Array:  # '' -> null, as the store keeps empty text
        return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)

    out.items = pa.table({
        "row": pa.array(rowno, pa.int64()),
        "item_name": name,
        "item_type": item_type,
        "indicator_code": tmatch.column(lambda m: feeds.get(m.code)),
        "sector_code": smatch.column(lambda m: m.code),
        "partner_institutions": nullable(txt["partner_institutions"]),
        "local_institution": nullable(txt["local_institution"]),
        "start_date": start,
        "status": smap.column(lambda c: c),
        "is_live": is_live,
        "funding_wan": funding,
        "note": nullable(txt["note"]),
    }).to_pandas(types_mapper=_ARROW_TYPES.get)
    partners = pinfo.objects(lambda info: info[0])  # one list per distinct cell, shared by its rows
    out.items.insert(out.items.columns.get_loc("sector_code") + 1, "partners", pd.Series(partners, dtype=object))
    flat = list(chain.from_iterable(partners))
    kinds = dict(zip(ref.partners["code"], ref.partners["kind"]))
    per_row = pinfo.column(lambda info: len(info[0]), pa.int64()).to_numpy()
    out.item_partners = pd.DataFrame({
        "row": pd.Series(np.repeat(np.asarray(rowno, dtype="int64"), per_row), dtype="int64"),
        "partner_code": pd.Series(flat, dtype=object),
        "partner_kind": pd.Series([kinds[c] for c in flat], dtype=object),
    })


# 表2 as a DataFrame: text columns keep Arrow storage (no copy); dates and partner lists are Python objects.
_ARROW_TYPES = {pa.string(): pd.ArrowDtype(pa.string())}


class _Distinct(dict):
    """{distinct cell text: fn(text)} for one column, and per-row columns built from it."""

    def __init__(self, arr: pa.Array, fn):
        self._arr = arr
        self._uniq = pc.unique(arr)
        super().__init__((v, fn(v)) for v in self._uniq.to_pylist())
        self._idx = None

    def column(self, fn, type_: pa.DataType = pa.string()) -> pa.Array:
        """fn(result) for every row, as an Arrow column."""
        return pa.array([fn(r) for r in self.values()], type_).take(self._index())

    def objects(self, fn) -> np.ndarray:
        """fn(result) for every row, as Python objects (rows with the same text share one)."""
        per_value = np.empty(len(self), dtype=object)
        per_value[:] = [fn(r) for r in self.values()]
        return per_value[self._index().to_numpy()]

    def _index(self) -> pa.Array:
        if self._idx is None:
            self._idx = pc.index_in(self._arr, value_set=self._uniq)
        return self._idx


class _LazyList:
    """Row i of an Arrow column as a Python value, converted only when a message needs it."""

    def __init__(self, arr: pa.Array):
        self._arr = arr

    def __getitem__(self, i: int):
        return self._arr[i].as_py()


def _item_rows(txt: dict[str, pa.Array]) -> pa.Array | None:
    """Which rows of 表2 are items (None: all): blank rows, total rows (合计) and note lines (注：...) are not."""
    filled = None
    for k, v in txt.items():
        if k != "seq":
            m = pc.not_equal(v, "")
            filled = m if filled is None else pc.or_(filled, m)
    seq, name = txt["seq"], txt["name"]

    drop = pc.or_(pc.or_(pc.match_substring_regex(seq, _MARK_RX), _note_rows(seq)),
                  pc.or_(_note_rows(name), pc.and_(pc.equal(seq, ""), pc.match_substring_regex(name, _MARK_RX))))
    keep = pc.and_(filled, pc.invert(drop))
    return None if pc.all(keep).as_py() in (True, None) else keep


def _note_rows(arr: pa.Array) -> pa.Array | None:
    """Which cells of a text column start like a note (NOTE_PREFIXES: 「注：」「填表说明」 ...)."""
    m = None
    for p in NOTE_PREFIXES:
        s = pc.starts_with(arr, p)
        m = s if m is None else pc.or_(m, s)
    return m


# 合计, 总计, 小计 (and 合计： ...): what norm_key(text) in TOTAL_MARKS tells, as one pattern
_MARK_RX = "^(?:" + "|".join(sorted({r"[\s\x{3000}]*".join(m.rstrip("：:")) for m in TOTAL_MARKS})) \
    + r")[\s\x{3000}]*[:：]?$"


_PLAIN_NUMBER = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")


def _funding(v: str) -> tuple[float, str | None]:
    """(万元 or NaN, problem): problem is 'not-a-number', 'odd-digits' or 'negative'.
    A value over the limit keeps its number (the caller compares it)."""
    if _PLAIN_NUMBER.fullmatch(v):  # what almost every cell holds: no need for parse_number
        return float(v), None
    num = parse_number(v)
    if num.problem:
        return np.nan, num.problem if num.problem == "odd-digits" else "not-a-number"
    if num.value is None:
        return np.nan, None
    if num.value < 0:
        return np.nan, "negative"
    return num.value, None


def _check_totals(out: CheckedReturn, ref: Reference, ind_sheet: str, items_sheet: str) -> None:
    if out.indicators is None or out.items is None:
        return
    reported = out.indicators.dropna(subset=["value"])
    if reported.empty:
        return
    items = out.items
    if items.empty:
        out.report.add(make_issue("items-empty", sheet=items_sheet, count=len(reported)))
        return
    live = pa.array(items["indicator_code"], pa.string(), from_pandas=True).filter(
        pa.array(items["is_live"].to_numpy(dtype=bool)))
    counts = {c["values"]: c["counts"] for c in pc.value_counts(live).to_pylist()}
    for r in reported.itertuples():
        c = int(counts.get(r.indicator_code, 0))
        if c != int(r.value):
            out.report.add(make_issue("totals-mismatch", sheet=ind_sheet, row=int(r.row), column=out.value_header,
                                      value=str(r.value), ind=r.indicator_code,
                                      expected=ref.indicator_name(r.indicator_code), number=int(r.value), count=c))


def _column_title(sheet: Sheet, role: str, row: int, col: int) -> str | None:
    """The header (表1, 表2) or label (封面) naming the cell at Excel (row, col), as found."""
    if not 1 <= row <= sheet.num_rows:
        return None
    rows = sheet.rows(row if role == "cover" else 30)
    if role == "cover":
        label = next((c for c in reversed(rows[row - 1][:col - 1]) if raw_text(c)), None)
        return None if label is None else "".join(str(label).split()).rstrip("：:")
    spec, must = (IND_HEADERS, ("value",)) if role == "indicators" else (ITEM_HEADERS, ITEM_REQUIRED)
    hit = _find_header(rows, spec, must)
    if hit is None or row <= hit[0] + 1 or col > len(rows[hit[0]]):
        return None
    return "".join(str(rows[hit[0]][col - 1]).split()) or None


def _name_formula_columns(wb: RawWorkbook) -> list[Issue]:
    """read.py locates a formula or error cell by its column letter; name its header instead."""
    role_of = {sheet: role for role, sheet in wb.names.items()}
    out = []
    for issue in wb.issues:
        sheet = wb.sheets.get(role_of.get(issue.sheet, ""))
        if issue.code in ("formula-no-value", "cell-error") and sheet is not None:
            title = _column_title(sheet, role_of[issue.sheet], issue.row, _col_number(issue.column))
            if title:
                issue = make_issue(issue.code, sheet=issue.sheet, row=issue.row, column=title,
                                   value=issue.value, cell=f"{issue.column}{issue.row}")
        out.append(issue)
    return out


def _check_cell_lengths(wb: RawWorkbook, limits: Limits) -> list[Issue]:
    """cell-too-long, with the column's header: a 备注 cell up to ``max_note_chars``, any other
    cell (names, organisations, codes ...) up to ``max_name_chars``; rows that are notes
    (「注：」「填表说明」 ...) count as 备注. A longer cell is cut to its limit here, so that
    no other message quotes more than that."""
    out: list[Issue] = []
    for role, sheet in wb.sheets.items():
        title = wb.names[role]
        hit = None
        if role != "cover":
            spec, must = (IND_HEADERS, ("value",)) if role == "indicators" else (ITEM_HEADERS, ITEM_REQUIRED)
            hit = _find_header(sheet.rows(30), spec, must)
        note_col = hit[1]["note"][0] if hit and "note" in hit[1] else None
        note_rows: pa.Array | None = None  # rows that are notes: found when a column first needs them
        cut = {(r, c): n for r, c, n in wb.long_cells.get(title, [])}  # cut by the reader: their real length
        headers = {idx: text for idx, text in hit[1].values()} if hit else {}
        cells = []
        for j in range(sheet.width):
            col = sheet.column(j)
            lengths = pc.utf8_length(col)
            limit = limits.max_note_chars if j == note_col else limits.max_name_chars
            if (pc.max(lengths).as_py() or 0) <= limit:
                continue
            over = pc.greater(lengths, limit)
            if limit < limits.max_note_chars and NOTE_PREFIXES:
                if note_rows is None:
                    note_rows = _note_rows(pc.utf8_trim_whitespace(sheet.column(0)))
                over = pc.and_(over, pc.invert(note_rows))
            for i in pc.indices_nonzero(over).to_pylist():
                cells.append((i + 1, j + 1, cut.get((i + 1, j + 1), lengths[i].as_py()), limit, headers.get(j)))
            sheet.replace_column(j, pc.if_else(over, pc.utf8_slice_codeunits(col, 0, limit), col))
        seen = {(r, c) for r, c, *_ in cells}
        cells += [(r, c, n, limits.max_note_chars, headers.get(c - 1)) for (r, c), n in cut.items() if (r, c) not in seen]
        out.extend(long_cell_issues(title, cells))
    return out


def check_workbook(wb: RawWorkbook, data_hash: str, ref: Reference | None = None,
                   today: date | None = None, limits: Limits = DEFAULT_LIMITS) -> CheckedReturn:
    ref = ref or load_reference()
    today = today or date.today()
    out = CheckedReturn(file_name=wb.file_name, file_hash=data_hash, sheet_names=dict(wb.names))
    out.report.extend(i for i in _name_formula_columns(wb) if i.code != "cell-too-long")
    out.report.extend(_check_cell_lengths(wb, limits))
    out.report.extend(_strip_invisible(wb))
    if "cover" in wb.sheets:
        _check_cover(wb.sheets["cover"].rows(), wb.names["cover"], ref, out, today)
    if "indicators" in wb.sheets:
        _check_indicators(wb.sheets["indicators"].rows(), wb.names["indicators"], ref, out)
    if "items" in wb.sheets:
        _check_items(wb.sheets["items"], wb.names["items"], ref, out)
    _check_totals(out, ref, wb.names.get("indicators", ""), wb.names.get("items", ""))
    if (out.indicators is not None and out.items is not None and out.report.ok
            and out.indicators["value"].isna().all() and out.items.empty):
        out.report.add(make_issue("empty-return", sheet=None))
    return out


def check_return(data: bytes, file_name: str, ref: Reference | None = None, today: date | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> CheckedReturn:
    """Read and check one return. Never raises: whatever goes wrong becomes the
    file's error (``internal-error``, the exception kept in ``.failure`` for the log)."""
    try:
        wb = read_workbook(data, file_name, limits)
        return check_workbook(wb, file_hash(data), ref, today, limits)
    except Exception as exc:  # a bug, or memory: this file's answer, not a traceback
        return failed_return(data, file_name, exc)


MAX_INVISIBLE_ISSUES = 20  # per sheet; the rest are counted in one more warning


def _any_invisible(arr: pa.Array) -> bool:
    """Whether any cell of a text column holds an invisible character: one pass of RE2 over the
    column's text laid end to end (a single character cannot span two cells), instead of a match
    per cell; about 3x quicker on a 50,000-row sheet, where almost every column has none."""
    if not isinstance(arr, pa.StringArray) or arr.null_count or not len(arr):
        return True  # let the cell-by-cell pass decide
    offsets = memoryview(arr.buffers()[1]).cast("i")
    bounds = np.array([offsets[arr.offset], offsets[arr.offset + len(arr)]], dtype=np.int32)
    whole = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(bounds.tobytes()), arr.buffers()[2]])
    return bool(pc.match_substring_regex(whole, INVISIBLE_RE2)[0].as_py())


def _strip_invisible(wb: RawWorkbook) -> list[Issue]:
    """Remove invisible characters (zero-width, bidi marks, BOM, control characters)
    from every cell, a column at a time; one warning per cell that had any."""
    role_of = {sheet: role for role, sheet in wb.names.items()}
    out: list[Issue] = []
    for role, sheet in wb.sheets.items():
        name = wb.names.get(role, role)
        hits: list[tuple[int, int, str]] = []
        for j in sheet.filled_columns:
            arr = sheet.column(j)
            if not _any_invisible(arr):
                continue
            mask = pc.match_substring_regex(arr, INVISIBLE_RE2)
            if not pc.any(mask).as_py():
                continue
            for i in pc.indices_nonzero(mask).to_pylist():
                hits.append((i + 1, j + 1, arr[i].as_py()))
            sheet.replace_column(j, pc.replace_substring_regex(arr, INVISIBLE_RE2, ""))
        hits.sort()
        for row, col, raw in hits[:MAX_INVISIBLE_ISSUES]:
            title = _column_title(sheet, role_of.get(name, role), row, col) or f"{_col_letters(col)}列"
            out.append(make_issue("invisible-chars", sheet=name, row=row, column=title, value=raw,
                                  chars="、".join(invisible_chars(raw)), clean=strip_invisible(raw)))
        if len(hits) > MAX_INVISIBLE_ISSUES:
            out.append(make_issue("invisible-chars-more", sheet=name, count=len(hits) - MAX_INVISIBLE_ISSUES))
    return out



def failed_return(data: bytes, file_name: str, exc: BaseException) -> CheckedReturn:
    """A return the checker itself failed on (a fault of the program, not of the file): one file-level
    ``internal-error`` saying so in Chinese, the exception kept in ``.failure`` for the log."""
    out = CheckedReturn(file_name=file_name, file_hash=file_hash(data), failure=exc)
    out.report.add(make_issue("internal-error", value=file_name))
    return out


# --------------------------------------------------------------------------
# Checks that need what is already loaded: the store reads it, the rules are here
def value_decreases(checked: CheckedReturn, previous: pd.DataFrame) -> list[Issue]:
    """Cumulative values must not fall. ``previous``: the unit's latest earlier value per indicator
    (columns indicator_code, value, period_code; ``store.previous_values``)."""
    if checked.indicators is None or previous is None or previous.empty:
        return []
    prev = previous.set_index("indicator_code")
    out = []
    sheet = checked.sheet_names.get("indicators")
    for r in checked.indicators.dropna(subset=["value"]).itertuples():
        if r.indicator_code in prev.index:
            p = prev.loc[r.indicator_code]
            if int(r.value) < int(p["value"]):
                out.append(make_issue("value-decreased", sheet=sheet, row=int(r.row), column=checked.value_header,
                                      value=str(r.value), ind=r.indicator_code, number=int(r.value),
                                      previous=int(p["value"]), previous_period=period_label(p["period_code"])))
    return out


def item_key(name, item_type) -> tuple[str, str]:
    """How an item is matched between two versions of a return: its name as the checker compares
    names (``norm_key``) and its type."""
    blank = item_type is None or item_type is pd.NA or (isinstance(item_type, float) and item_type != item_type)
    return (norm_key(name), "" if blank else str(item_type))


def removed_items(before: pd.DataFrame, checked: CheckedReturn) -> list[str]:
    """Names of the items of ``before`` (item_name, item_type: the version a load replaces) that
    ``checked`` no longer lists, in ``before``'s order."""
    if before is None or before.empty:
        return []
    after = checked.items if checked.items is not None else pd.DataFrame(columns=["item_name", "item_type"])
    keep = {item_key(n, t) for n, t in zip(after["item_name"], after["item_type"])}
    out, seen = [], set()
    for n, t in zip(before["item_name"], before["item_type"]):
        k = item_key(n, t)
        if k not in keep and k not in seen:
            seen.add(k)
            out.append(str(n))
    return out


def removal_issue(names: list[str], previous_version: int | None) -> Issue:
    """The error a load that would remove items gets when removals are not accepted."""
    shown = "、".join(f"「{n}」" for n in names[:5]) + ("等" if len(names) > 5 else "")
    return make_issue("items-removed", count=len(names), names=shown, previous=previous_version)
