"""What every page needs: the database, cached queries, the demo banner, charts."""
from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from pipelines import queries, store
from pipelines.export import write_csv, write_workbook  # noqa: F401  (re-exported for pages)
from pipelines.normalise import visible
from pipelines.reference import Reference, load_reference
from pipelines.vocab import date_zh as fmt_date, period_label  # noqa: F401  (the formatters pages use)

def _leave_pages_directory_mode() -> None:
    """Route every first request through app.py.

    Streamlit treats a folder named ``pages/`` beside the entry point as an
    old-style page folder until ``st.navigation`` has run once in the process:
    a first visit straight to ``/upload`` would run pages/upload.py alone (no
    app.py: no navigation, no layout, no database set-up). Every page imports
    this module, so its first import switches that mode off and reruns, and the
    rerun goes through app.py. The import is retried after the rerun (a failed
    import is not cached), when the mode is already off.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if get_script_run_ctx() is not None:
            st.rerun()


_leave_pages_directory_mode()

ASSETS = Path(__file__).resolve().parent / "assets"
ZH_CN = json.loads((ASSETS / "zh_cn.json").read_text(encoding="utf-8"))

# Every chart's plotly.js config (show_chart). plotly.js ships English only: the Chinese
# dictionary and date/number formats travel with each chart (config.locales). The toolbar keeps
# zoom/pan/reset; its PNG button duplicates 「导出图表」 (which adds title, date and source).
PLOTLY_CONFIG = {
    "displaylogo": False,
    "locale": "zh-CN",
    "locales": {"zh-CN": ZH_CN["plotly"]},
    "modeBarButtonsToRemove": ["toImage", "lasso2d", "select2d", "sendDataToCloud", "editInChartStudio"],
}


def page_chrome() -> None:
    """Once per run, from app.py: the shared style and the Chinese for Streamlit's own words."""
    st.html(_chrome_html(), unsafe_allow_javascript=True)


@st.cache_resource
def _chrome_html() -> str:
    css = (ASSETS / "page.css").read_text(encoding="utf-8")
    js = (ASSETS / "zh_cn.js").read_text(encoding="utf-8").replace(
        "__ZH__", json.dumps(ZH_CN["page"], ensure_ascii=False))
    return f"<style>{css}</style><script>{js}</script>"


@st.cache_resource
def favicon():
    """Drawn here: a material-icon or emoji favicon would be fetched from the internet."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((2, 2, 62, 62), radius=12, fill="#2f81f7")
    for i, h in enumerate((20, 34, 46)):
        d.rectangle((12 + i * 15, 54 - h, 22 + i * 15, 54), fill="white")
    return img


_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark: Markdown, HTML, :directives:, $math$


def esc(value: object, blank: str = "—") -> str:
    """Stored or typed text (file names, 填报人, 电话, item names, notes, messages,
    link parameters) for anything Streamlit renders as Markdown (st.markdown,
    st.caption, st.info ..., st.table cells, expander and metric labels): shown
    exactly as typed, never as a link, emphasis or HTML; invisible characters
    named (「包[零宽空格]头」); line breaks as spaces. None/NaN/'' -> ``blank``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return blank
    text = visible(str(value)).strip().replace("\r", " ").replace("\n", " ")
    return _MD_PUNCT.sub(r"\\\1", text) if text else blank


def esc_table(df: pd.DataFrame, blank: str = "") -> pd.DataFrame:
    """Every text cell of a table for ``st.table`` (which renders Markdown) through ``esc``."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: esc(v, blank) if isinstance(v, str) or v is None else v)
    out.columns = [esc(c, blank) for c in out.columns]
    return out


def db_path() -> Path:
    return Path(os.environ.get("KJHZ_DB", store.DEFAULT_DB))


def log_failure(exc: BaseException, context: str = "") -> str:
    """Log an unexpected exception beside the database (``<db>.log``, as the
    command lines do); the Chinese sentence to show instead of a traceback."""
    from pipelines.faults import describe, log_exception

    if isinstance(exc, store.BusyError):  # expected under load: no traceback to keep, nothing to report
        return f"{describe(exc)}。"
    log_exception(db_path(), exc, f"app {context}".strip())
    return f"{describe(exc)}。详细信息已写入服务器日志，请联系管理员。"


def show_failure(exc: BaseException, context: str = "") -> None:
    """A page that met an unexpected error: a Chinese message on the page, the traceback in the log."""
    st.error(log_failure(exc, context), icon=":material/error:")


_APPLIED: dict[int, tuple] = {}  # id(reference) -> (database, data version) whose additions it holds


def reference() -> Reference:
    """The reference data with what administrators changed (系统管理: aliases, settings, plan values) laid
    over it. Laid again whenever the database changes (another process may have changed them); the
    系统管理 page lays a change over it at once."""
    from pipelines import admin

    ref = load_reference()
    key = (str(db_path()), data_key())
    if _APPLIED.get(id(ref)) != key and admin.apply_from(db_path(), ref):
        _APPLIED[id(ref)] = key
    return ref


def data_key() -> tuple:
    """Changes when the database changes; part of every cached query's key."""
    return store.data_version(db_path())


def ensure_database() -> None:
    """First start on a fresh machine: the demo database, built through the real pipeline.

    The build runs in a background thread of the server (``pipelines.demo.build_demo_atomic``:
    a temporary database moved into place when complete, under a file lock), not in
    the visitor's script run: closing or reloading the tab neither stops nor breaks it,
    and every visitor meanwhile sees the same progress. Rejected originals past their
    retention are cleaned once per server process.
    """
    from pipelines.demo import demo_state

    path = db_path()
    version = data_key()
    if _READY_AT.get(str(path)) == version:  # checked already, and the file has not changed since
        return
    if demo_state(path) != "ready":
        _start_demo_build(path)
        _wait_for_demo(path)
    store.init_db(path)
    _clean_rejected_originals(str(path))
    _READY_AT[str(path)] = version


_READY_AT: dict[str, tuple] = {}  # database -> its data_key() when it was last found ready


_BUILDS: dict[str, threading.Thread] = {}
_BUILDS_LOCK = threading.Lock()
_BUILD_FAILED: dict[str, str] = {}


def _start_demo_build(path: Path) -> None:
    """One background build per database per process (the file lock covers other processes)."""
    with _BUILDS_LOCK:
        t = _BUILDS.get(str(path))
        if t is not None and t.is_alive():
            return
        _BUILD_FAILED.pop(str(path), None)
        t = threading.Thread(target=_build_demo, args=(path,), name="demo-build", daemon=True)
        _BUILDS[str(path)] = t
        t.start()


def _build_demo(path: Path) -> None:
    from pipelines.demo import build_demo_atomic

    try:
        build_demo_atomic(path)
    except Exception as exc:  # said on the page; the traceback in <db>.log
        _BUILD_FAILED[str(path)] = log_failure(exc, "demo build")


def _wait_for_demo(path: Path) -> None:
    """Chinese progress of the demo build until the database is in place."""
    from pipelines.demo import build_progress, demo_state

    st.markdown("### 首次启动：正在生成演示数据库")
    st.caption("系统正用生成的演示报表（非真实报送）经与正式报送相同的检查和载入建立演示数据库，通常需十几秒。"
               "关闭或刷新本页不会中断生成；完成后页面自动显示。")
    bar = st.progress(0.0, text="正在准备演示报表…")
    while demo_state(path) != "ready":
        failed = _BUILD_FAILED.get(str(path))
        if failed:
            bar.empty()
            st.error(f"演示数据库未能生成：{failed}", icon=":material/error:")
            st.stop()
        p = build_progress(path)
        if p and p[1]:
            done, total, name = p
            bar.progress(done / total, text=f"正在载入演示报表 {done}/{total}：{esc(name)}" if done
                         else f"正在生成{total}份演示报表…")
        time.sleep(0.5)
        _start_demo_build(path)  # a build another process left unfinished (it died): take over
    bar.empty()
    st.rerun()


@st.cache_resource(show_spinner=False)
def _clean_rejected_originals(path: str) -> int:
    """Delete rejected originals past their retention (settings.yaml), once per server process."""
    return len(store.cleanup_rejected_originals(path))


@st.cache_data(show_spinner=False, max_entries=256)
def _run(_fn, fn_key: tuple, key: tuple, db: str, args: tuple, kwargs: tuple):
    # the function itself is not hashable for st.cache_data: ``fn_key`` names it (module, name, identity)
    with store.connect(db, on_wait=None) as con:
        return _fn(con, *args, **dict(kwargs))


@st.cache_resource(show_spinner=False, max_entries=200, hash_funcs={Reference: id})
def _built(_builder, builder_key: tuple, key: tuple, args: tuple, kwargs: tuple):
    # a figure of the same data and arguments is the same figure: kept, not copied (never changed after)
    return _builder(*args, **dict(kwargs))


def figure(builder, *args, **kwargs):
    """A figure from its builder (``figure(figures.unit_map, df, title, ...)``), kept until the data
    change: a rerun or a reload shows the same figure again instead of building it anew (building a
    map or the small multiples costs 0.1-0.3 s, more than the queries behind them). The arguments
    are its key (query results, dates, texts); the figure is shared between visitors, so nothing may
    change it after it is built (``show_chart`` and the exports only read it)."""
    builder_key = (builder.__module__, builder.__qualname__, id(builder))
    return _built(builder, builder_key, data_key(), args, tuple(sorted(kwargs.items())))


def q(fn, *args, **kwargs):
    """Run a query function (``q(queries.items_at, as_of, ...)``: it takes the connection first) on
    the database, cached until the data change. Pass the function itself, so a reader can follow a
    page to its SQL."""
    if not callable(fn):
        raise TypeError(f"q() takes the query function itself, e.g. q(queries.{fn}, ...), not its name")
    fn_key = (fn.__module__, fn.__qualname__, id(fn))
    return _run(fn, fn_key, data_key(), str(db_path()), args, tuple(sorted(kwargs.items())))


# Printing a page from the browser (Ctrl+P): no sidebar, header or buttons; the page's content
# scaled to the A4 width so charts fit; charts and tables not split across pages.
PRINT_CSS = """
<style>
@media print {
  @page { size: A4 portrait; margin: 10mm 10mm 12mm 10mm; }
  section[data-testid="stSidebar"], header[data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stDecoration"], [data-testid="stStatusWidget"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stPopover"], [data-testid="stDownloadButton"], [data-testid="stExpander"],
  [data-testid="stElementToolbar"], [data-testid="stButton"], [data-testid="stSelectbox"],
  .modebar-container, .print-hide { display: none !important; }
  html, body, [data-testid="stApp"], [data-testid="stAppViewContainer"], [data-testid="stMain"] {
    overflow: visible !important; height: auto !important; margin: 0 !important; }
  [data-testid="stMain"] { zoom: var(--kjhz-print-zoom, 0.62); }
  [data-testid="stMainBlockContainer"] { max-width: none !important; padding: 0 !important; }
  [data-testid="stPlotlyChart"], [data-testid="stDataFrame"], [data-testid="stTable"], [data-testid="stAlert"],
  [data-testid="stMetric"] { break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  [class*="st-key-print_hide"] { display: none !important; }
}
</style>
"""
# Charts and tables keep their on-screen pixel width when printed: the zoom above is lowered
# (never raised) so the widest content of a wide screen still fits the A4 width (190 mm = 718 px).
PRINT_FIT_JS = """
<script>
(function () {
  const PAGE_PX = 718, DEFAULT_ZOOM = 0.62;
  function fit() {
    if (window.matchMedia("print").matches) return;
    const block = document.querySelector('[data-testid="stMainBlockContainer"]');
    if (!block) return;
    const cs = getComputedStyle(block);
    const w = block.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    if (w > 0) {
      document.documentElement.style.setProperty("--kjhz-print-zoom", Math.min(DEFAULT_ZOOM, PAGE_PX / w).toFixed(3));
    }
  }
  if (!window.__kjhzPrintFit) {
    window.__kjhzPrintFit = true;
    window.addEventListener("resize", fit);
    window.addEventListener("beforeprint", fit);
  }
  setTimeout(fit, 0);
})();
</script>
"""


def print_view() -> None:
    """Make the page print to A4 from the browser (the 总览 and 简报 pages call it); put what
    should not be printed in ``st.container(key="print_hide_...")``."""
    st.html(PRINT_CSS)
    st.html(PRINT_FIT_JS, unsafe_allow_javascript=True)


def page_header(title: str, caption: str | None = None) -> None:
    """Every page's top: title, what the page shows, and the demo-data label."""
    st.title(title)
    if caption:
        st.caption(caption)
    demo_banner()


def require_data(what: str = "数据") -> list:
    """The period ends that have data, latest first; without any, say what to do and stop the page."""
    options = q(queries.as_of_options)
    if not options:
        st.info(f"还没有任何报表入库，暂无{what}。请到「数据报送」页上传各盟市报表（管理员也可批量载入，见该页说明）。")
        st.stop()
    return options


def demo_banner() -> None:
    if q(queries.is_demo):
        st.warning("**演示数据**：当前显示的是系统生成的演示数据（非真实报送），用于熟悉功能。"
                   "在「数据报送」页载入真实报表前，请勿引用本页数字。", icon=":material/science:")


def on_demand(label: str, key: str, **kwargs):
    """A closed expander whose content is drawn only once it is opened (``if box.open:`` before
    filling it): a closed expander's content is otherwise sent and laid out on every load (the
    简报 page's full text as a code block took about 0.15 s of each load). Opening it reruns the page."""
    return st.expander(label, expanded=False, key=key, on_change="rerun", **kwargs)


def show_chart(fig, key: str | None = None, export: bool = True, **kwargs):
    """Render a figure with the shared config, and an export for briefings.

    The figure itself carries its title, subtitle (scope, as-of date) and source
    line, so both the toolbar's PNG and the exported files stand alone.
    """
    title = (fig.layout.meta or {}).get("title") if isinstance(fig.layout.meta, dict) else None
    demo = bool(q(queries.is_demo))  # exported images of demo data say so in the image
    event = st.plotly_chart(fig, config=PLOTLY_CONFIG, key=key, width="stretch", **kwargs)
    if export:
        _export_popover(fig, key or title or "chart", title or "图表", demo)
    return event


def _fingerprint(fig) -> str:
    """What the figure shows: titles and every trace's data (not its geometry), hashed."""
    import hashlib

    h = hashlib.sha1()
    title = fig.layout.title
    h.update(f"{title.text}|{title.subtitle.text if title.subtitle else ''}".encode())
    for tr in fig.data:
        h.update(tr.type.encode())
        for attr in ("x", "y", "z", "locations", "text", "customdata"):
            v = getattr(tr, attr, None)
            if v is not None:
                h.update(repr(v.tolist() if hasattr(v, "tolist") else v).encode())
    return h.hexdigest()


def _export_popover(fig, key: str, title: str, demo: bool = False) -> None:
    from pipelines.figures import export_image

    with st.popover("导出图表", icon=":material/image:"):
        st.caption("导出的图片含标题、截止日期和数据来源，可直接放入简报。"
                   + ("演示数据导出的图片标有「演示数据」。" if demo else ""))
        fmt = st.radio("格式", ["PNG（高清）", "SVG（矢量）", "PDF"], horizontal=True, key=f"fmt_{key}")
        ext = {"PNG（高清）": "png", "SVG（矢量）": "svg", "PDF": "pdf"}[fmt]
        store_key = f"export_{key}_{ext}"
        stamp = _fingerprint(fig)
        if st.button("生成", key=f"gen_{key}_{ext}"):
            with st.spinner("正在生成图片…"):
                try:
                    st.session_state[store_key] = (stamp, export_image(fig, ext, demo=demo))
                except Exception as exc:  # no chromium on this server: the cause is for the admin's log
                    st.session_state.pop(store_key, None)
                    print(f"export_image failed: {exc!r}", file=sys.stderr)
                    st.error("服务器上暂时无法生成图片，请稍后再试或联系管理员（服务器日志中有原因）。")
        made = st.session_state.get(store_key)
        if made and made[0] == stamp:  # only ever the image of the chart as it is now
            mime = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}[ext]
            st.download_button(f"下载 {ext.upper()}", made[1], file_name=f"{title}.{ext}", mime=mime,
                               key=f"dl_{key}_{ext}", icon=":material/download:")
        elif made:
            st.caption("图表已变化，请重新生成。")


def excel_bytes(sheets: dict, *, content: str = "页面数据", scope: str = "全区", as_of=None, filters: str | None = None,
                formats: dict | None = None, extra=()) -> bytes:
    """Every page's Excel download, through the one safe writer (text stays text, never a formula):
    a 说明 sheet first (what, scope, filters, as-of date, source, demo or not, export time), then
    ``sheets``; ``formats`` keeps numbers numeric (percentages as 0.5 with ``PERCENT``)."""
    from pipelines.export import export_notes

    notes = export_notes(content, scope=scope, as_of=as_of, filters=filters, source=reference().source_note,
                         demo=bool(q(queries.is_demo)), extra=extra)
    return write_workbook(sheets, formats=formats, notes=notes)


# Width a table may take without a sideways scroll on a 1024-pixel screen (sidebar 244-300 px, page
# margins 2 x 24 px, scroll bar): page.css puts columns holding a table one under the other below
# 400 px, so a table in a column gets at least ``TABLE_PX_COLUMN``.
TABLE_PX, TABLE_PX_COLUMN = 660, 390


def _text_px(text: str) -> int:
    """Rough drawn width of a cell's text at the grid's 14-px font: CJK wide, the rest narrow."""
    return int(sum(14.5 if ord(ch) > 0x2E7F else 8.5 for ch in text))


def _fit_columns(df: pd.DataFrame, budget: int, show_index: bool) -> dict[str, int] | None:
    """Column widths (px) that fit ``budget``: None when the columns' natural widths already fit.

    Each column wants its header or its widest usual cell (90th percentile); columns that want
    less than an equal share keep their width, the wider ones share what is left (their cells
    end in 「…」; a click on a cell shows it whole). The grid widens every column on a wider screen.
    """
    cols = ([("_index", df.index)] if show_index else []) + [(str(c), df[c]) for c in df.columns]
    want = {}
    for name, values in cols:
        sample = [_text_px("" if v is None else str(v)) for v in list(values[:500])]
        cell = int(pd.Series(sample).quantile(0.9)) if sample else 0
        head = _text_px("" if name == "_index" else name) + 20  # the sort arrow
        want[name] = min(max(cell, head) + 24, 420)  # the cell's padding
    if sum(want.values()) <= budget:
        return None
    widths, left, rest = {}, budget, sorted(want, key=want.get)
    while rest:
        share = left / len(rest)
        if want[rest[0]] <= share:
            name = rest.pop(0)
            widths[name] = want[name]
            left -= want[name]
        else:
            for name in rest:
                widths[name] = max(56, int(share))
            break
    return widths


def show_table(data, *, place: str = "page", key_columns: list[str] | None = None, key: str | None = None,
               **kwargs):
    """st.dataframe for every page: a missing value shows 「—」 (never None/NaN), numbers with
    thousands separators, full width, and columns narrow enough to need no sideways scroll on a
    1024-pixel screen (``place="column"`` for a table beside another one).

    ``key_columns``: a wide table shows these columns, and a switch above it shows every column
    (``key`` names the switch when a page has two such tables).
    """
    kwargs.setdefault("placeholder", "—")
    kwargs.setdefault("width", "stretch")
    df = getattr(data, "data", data)  # a Styler's frame
    if not isinstance(df, pd.DataFrame):
        return st.dataframe(data, **kwargs)
    if key_columns and len(df.columns) > len(key_columns):
        every = st.toggle(f"显示全部{len(df.columns)}列", key=key or f"all_columns_{'_'.join(map(str, df.columns))}",
                          help="默认只显示主要的列；下载的 Excel 总是包含全部列")
        if not every:
            kwargs["column_order"] = key_columns
            df = df[key_columns]
    config = {str(c): dict(v) for c, v in (kwargs.get("column_config") or {}).items()}
    for c in df.columns:  # counts and amounts with thousands separators, as in metrics and charts
        if ("年" not in str(c) and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
                and "type_config" not in config.get(str(c), {})):
            config.setdefault(str(c), {}).update(st.column_config.NumberColumn(format="localized"))
    show_index = kwargs.get("hide_index") is not True and not isinstance(df.index, pd.RangeIndex)
    widths = _fit_columns(df, TABLE_PX_COLUMN if place == "column" else TABLE_PX, show_index)
    for name, px in (widths or {}).items():
        cfg = config.setdefault(name, {})
        if not cfg.get("width"):
            cfg["width"] = px
    if config:
        kwargs["column_config"] = config
    return st.dataframe(data, **kwargs)


def table_height(rows: int, cap: int | None = 20, max_px: int | None = None) -> int:
    """Pixel height for st.dataframe that shows every row up to ``cap`` (None: all rows) without an
    inner scroll, and at most ``max_px``."""
    h = 38 + 35 * max(1, rows if cap is None else min(rows, cap))
    return h if max_px is None else min(max_px, h)
