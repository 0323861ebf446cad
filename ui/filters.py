"""Filters that travel: set once in the sidebar, kept across pages, mirrored in the URL.

URL parameters: ``as_of=2019-06-30`` and comma-separated codes in ``unit``
(GB/T 2260), ``sector`` (S01..), ``type`` (T01.., data/item_types.csv) and
``partner`` (a partner group G01.. or a partner ISO3 / CN-xx code). A copied
link opens the same view; an unknown code is dropped with a notice.

Values live in ``st.session_state["filters"]`` (not in widget keys, which
Streamlit forgets when a page does not draw them), so they survive page
switches; every page that draws the sidebar writes them back to the URL.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import pandas as pd
import streamlit as st

from pipelines import queries
from ui.common import esc, fmt_date, q, reference

STATE = "filters"
PARAMS = ("unit", "sector", "type", "partner")


@dataclass(frozen=True)
class Filters:
    as_of: date | None = None
    units: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    types: tuple[str, ...] = ()      # item type codes T01..
    partners: tuple[str, ...] = ()   # group codes G01.. or partner codes
    notices: tuple[str, ...] = field(default=(), compare=False)

    @property
    def any_item_filter(self) -> bool:
        return bool(self.sectors or self.types or self.partners)

    def as_query(self) -> dict:
        """Keyword arguments for pipelines.queries functions (plain, hashable)."""
        return {"units": self.units, "sectors": self.sectors, "type_names": type_names(self.types),
                "partner_codes": partner_codes(self.partners)}

    def scope(self) -> str:
        """Chinese description of the filter for chart subtitles: 「全区」 or the chosen units."""
        ref = reference()
        if not self.units:
            return "全区"
        names = [ref.unit_name(u) for u in self.units]
        return "、".join(names) if len(names) <= 3 else f"{names[0]}等{len(names)}个单位"

    def describe(self) -> str | None:
        ref = reference()
        parts = []
        if self.sectors:
            parts.append("领域：" + "、".join(ref.sector_name(s) for s in self.sectors))
        if self.types:
            parts.append("类别：" + "、".join(type_names(self.types)))
        if self.partners:
            parts.append("合作方：" + "、".join(partner_label(p) for p in self.partners))
        return "；".join(parts) or None


def _options() -> dict[str, dict[str, str]]:
    ref = reference()
    return {
        "unit": dict(zip(ref.units["code"], ref.units["name"])),
        "sector": dict(zip(ref.sectors["code"], ref.sectors["name"])),
        "type": dict(zip(ref.item_types["code"], ref.item_types["name"])),
        "partner": {**dict(zip(ref.partner_groups["code"], ref.partner_groups["name"])),
                    **dict(zip(ref.partners["code"], ref.partners["name_zh"]))},
    }


def type_names(codes) -> tuple[str, ...]:
    m = _options()["type"]
    return tuple(m[c] for c in codes if c in m)


def partner_label(code: str) -> str:
    return _options()["partner"].get(code, code)


def partner_codes(codes) -> tuple[str, ...]:
    """Expand group codes to the partner codes they contain."""
    ref = reference()
    groups = dict(zip(ref.partner_groups["code"], ref.partner_groups["name"]))
    out: list[str] = []
    for c in codes:
        if c in groups:
            members = ref.partners[ref.partners["groups_list"].map(lambda gs, g=groups[c]: g in gs)]["code"]
            out.extend(members)
        else:
            out.append(c)
    return tuple(dict.fromkeys(out))


def _from_url(options: list[date]) -> Filters:
    qp = st.query_params
    notices = []
    opts = _options()
    values = {}
    for key in PARAMS:
        raw = qp.get(key)
        codes = [c.strip() for c in raw.split(",") if c.strip()] if raw else []
        known = [c for c in codes if c in opts[key]]
        unknown = [c for c in codes if c not in opts[key]]
        if unknown:
            label = {"unit": "单位", "sector": "领域", "type": "事项类别", "partner": "合作方"}[key]
            notices.append(f"链接中的{label}代码 {'、'.join(unknown)} 无法识别，已忽略。")
        values[key] = tuple(known)
    as_of = None
    raw = qp.get("as_of")
    if raw:
        try:
            as_of = date.fromisoformat(raw)
            if options and as_of not in options and not _in_range(as_of, options):
                notices.append(f"链接中的截止日期 {raw} 没有数据，已改用最近一期 {fmt_date(options[0])}。")
                as_of = None
        except ValueError:
            notices.append(f"链接中的截止日期「{raw}」无法识别，已改用最近一期。")
    return Filters(as_of=as_of, units=values["unit"], sectors=values["sector"], types=values["type"],
                   partners=values["partner"], notices=tuple(notices))


def _in_range(d: date, options: list[date]) -> bool:
    """A date between the first period end with data and today: figures as of it are defined
    (each unit's latest return ending on or before it), even if no period ends on that day."""
    return min(options) <= d <= date.today()


def _to_url(f: Filters) -> None:
    qp = st.query_params
    if f.as_of:
        qp["as_of"] = f.as_of.isoformat()
    for key, vals in zip(PARAMS, (f.units, f.sectors, f.types, f.partners)):
        if vals:
            qp[key] = ",".join(vals)
        elif key in qp:
            del qp[key]


def _url_signature() -> tuple:
    qp = st.query_params
    return tuple(qp.get(k) for k in ("as_of", *PARAMS))


def current() -> Filters:
    return st.session_state.get(STATE, Filters())


def set_filters(**changes) -> None:
    """Change filters from a page (e.g. a click on a map region) and rerun."""
    st.session_state[STATE] = replace(current(), notices=(), **changes)
    _to_url(st.session_state[STATE])
    st.session_state["_filters_url"] = _url_signature()


def sidebar(show: tuple[str, ...] = ("as_of", "unit", "sector", "type", "partner")) -> Filters:
    """Draw the shared filters in the sidebar and return them."""
    options: list[date] = q(queries.as_of_options)
    sig = _url_signature()
    state: Filters | None = st.session_state.get(STATE)
    if state is None or (any(sig) and sig != st.session_state.get("_filters_url")):
        # first visit or a pasted link: the URL wins
        state = _from_url(options)
    if state.as_of is None or (options and state.as_of not in options and not _in_range(state.as_of, options)):
        state = replace(state, as_of=options[0] if options else None)
    if options and state.as_of not in options:  # a date inside a period, from a link: offer it too
        options = sorted({*options, state.as_of}, reverse=True)
    for n in state.notices:
        st.info(n, icon=":material/link:")
    state = replace(state, notices=())
    opts = _options()
    sb = st.sidebar
    sb.markdown("**筛选条件**（各页通用）")
    if "as_of" in show and options:
        as_of = sb.selectbox("截止日期", options, index=options.index(state.as_of), format_func=fmt_date,
                             key="flt_as_of_" + state.as_of.isoformat())
        state = replace(state, as_of=as_of)

    def multi(key: str, label: str, current_vals: tuple[str, ...], show_key: str) -> tuple[str, ...]:
        if show_key not in show:
            return current_vals
        o = opts[key]
        choices = list(o)
        chosen = sb.multiselect(label, choices, default=[c for c in current_vals if c in o],
                                format_func=lambda c: o[c], placeholder="全部",
                                key=f"flt_{key}_{','.join(current_vals)}")
        return tuple(chosen)

    state = replace(state,
                    units=multi("unit", "填报单位", state.units, "unit"),
                    sectors=multi("sector", "所属领域", state.sectors, "sector"),
                    types=multi("type", "事项类别", state.types, "type"),
                    partners=multi("partner", "合作国家（地区）或分组", state.partners, "partner"))
    if any((state.units, state.sectors, state.types, state.partners)):
        if sb.button("清除筛选", icon=":material/close:"):
            state = Filters(as_of=state.as_of)
            st.session_state[STATE] = state
            _to_url(state)
            st.session_state["_filters_url"] = _url_signature()
            st.rerun()
    st.session_state[STATE] = state
    _to_url(state)
    st.session_state["_filters_url"] = _url_signature()
    return state


def url_choice(page: str, param: str, allowed: list[str], default: str, label: str) -> str:
    """Session-state key of a page widget whose value is mirrored in the URL (a pasted link wins).

    Use as ``st.selectbox(..., key=url_choice("region", "measure", opts, "value", "着色依据"))``
    and call ``url_set`` with the chosen value afterwards.
    """
    key = f"{page}_{param}"
    raw = st.query_params.get(param)
    if raw is not None and raw not in allowed:
        st.info(f"链接中的{label}「{esc(raw)}」无法识别，已改用默认值。", icon=":material/link:")
        raw = None
    if raw and st.session_state.get(f"_url_{key}") != raw:
        st.session_state[key] = raw
    if st.session_state.get(key) not in allowed:
        st.session_state[key] = default
    return key


def url_set(page: str, param: str, value: str) -> None:
    st.query_params[param] = value
    st.session_state[f"_url_{page}_{param}"] = value


def one_of(page: str, param: str, options: dict[str, str], label: str) -> str:
    """Which of several views to draw, chosen in a row of buttons (a horizontal radio) and mirrored
    in the URL (``param``); returns the chosen key, the first by default.

    Unlike st.tabs, which draws every tab on every load, only the chosen view is drawn: a page with
    several charts loads about as fast as one with a single chart (every plotly chart is laid out
    in the browser on every load; bench/browser.py).
    """
    keys = list(options)
    choice = st.radio(label, keys, format_func=options.get, horizontal=True,
                      key=url_choice(page, param, keys, keys[0], label))
    url_set(page, param, choice)
    return choice


def items_context() -> tuple[Filters, pd.DataFrame, str | None]:
    """The sidebar, the filter caption, each unit's return basis at the as-of date (only the
    chosen units) and the subtitle words for charts of items: shared by the item pages."""
    from pipelines.figures import basis_extra

    flt = sidebar()
    filter_caption(flt)
    basis = q(queries.return_basis, flt.as_of)
    if flt.units:
        basis = basis[basis["unit_code"].isin(flt.units)].reset_index(drop=True)
    extra = " · ".join(x for x in (flt.describe(), basis_extra(basis)) if x) or None
    return flt, basis, extra


def filter_caption(f: Filters) -> None:
    d = f.describe()
    if d:
        st.caption(f"当前筛选 — {d}")


def as_frame(codes, labels: dict) -> pd.DataFrame:
    return pd.DataFrame({"code": list(codes), "name": [labels.get(c, c) for c in codes]})
