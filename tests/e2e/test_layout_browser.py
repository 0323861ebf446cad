"""Every page in Chinese and whole at office screen sizes (issue 12, "Tests and proof").

The pages are app.py's navigation, read from app.py, so a page added there is
checked here without a change. One ``streamlit run app.py`` on a copy of the
demo database serves the module. Checked, as a user would notice:

- no English a user meets: the visible text, the tooltips and labels of
  Streamlit's own buttons (table toolbar, uploader, chart toolbar), the main
  menu (tables' cells are drawn on a canvas: tests/test_pages_tables.py checks them);
- at 1024×768, 1366×768 and 1920×1080: no metric's value or label is cut
  (「10…」), no chart is wider than its place, no text a chart draws (title,
  subtitle with its as-of date, source line, axis labels, legend) is cut at
  the chart's edge, the 按盟市 map shows every unit whole, and no table needs a
  horizontal scroll for its columns.

Screenshots of every page at every size are saved in the module's temp folder
(paths printed).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.dbfixtures import demo_db_copy
from tests.e2e.server import CHROMIUM, idle, is_local, navigation, sidebar_login
from tests.factories import PASSWORD, make_user
from ui.navigation import DEFAULT_PAGE

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")

TIMEOUT = 120_000
SIZES = [(1024, 768), (1366, 768), (1920, 1080)]
# the pages a visitor who has not logged in is offered (系统管理 appears only for an administrator)
PAGES = [(title, url) for section, entries in navigation().items() if section != "系统管理"
         for _, title, _, url in entries]
DEFAULT = DEFAULT_PAGE
# Filters that make each page show its fullest view (a unit's own view on 按盟市).
QUERY = {"region": "unit=150200", "explorer": "unit=150200"}

# English a user met before (issue 12), as whole words; case matters ("upload" is an icon's name).
ENGLISH = ["Print", "Record screen", "Made with Streamlit", "Deploy", "Rerun", "Settings", "Clear cache",
           "Download plot as a PNG", "Download plot", "Zoom", "Zoom in", "Zoom out", "Pan", "Autoscale",
           "Reset axes", "Reset view", "Toggle attribution", "Show/hide columns", "Download as CSV", "Search",
           "Fullscreen", "Close fullscreen", "Copy to clipboard", "Upload", "Browse files", "Drag and drop",
           "per file", "Choose an option", "Running", "Stop", "None", "NaN", "nan", "NaT", "null", "undefined",
           "DHIS2", "python -m", "pipelines"]
ENGLISH_RE = re.compile("|".join(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])" for w in ENGLISH))

# Everything the user can read on the page: text (not the icons' ligature names), the tooltips
# and labels Streamlit and plotly put on buttons, the placeholders of inputs, the tables' cells.
READABLE = """() => {
  const out = [];
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = w.nextNode(); n; n = w.nextNode()) {
    const el = n.parentElement;
    // not shown: icons' ligature names, a closed expander's content, the grid's screen-reader copy
    if (!el || el.closest("script, style, noscript, [aria-hidden='true'], [inert], [data-testid='stDataFrame'] table"))
      continue;
    if (!el.getClientRects().length) continue;  // not displayed
    const t = n.nodeValue.trim();
    if (t) out.push(t);
  }
  document.querySelectorAll("[title], [aria-label], [data-title], [placeholder]").forEach(el => {
    if (el.closest("[inert], [data-testid='stDataFrame'] table")) return;
    for (const a of ["title", "aria-label", "data-title", "placeholder"]) {
      const v = el.getAttribute(a);
      if (v) out.push(`${a}=${v}`);
    }
  });
  return out;
}"""
# What is cut: metrics (scrollWidth beyond the box: 「10…」), charts wider than their place, text a
# chart draws outside the chart's own box, maps that do not show a unit whole, tables that scroll sideways.
CUT = """() => {
  const bad = [];
  const inside = (r, box, tol) => r.left >= box.left - tol && r.right <= box.right + tol
                                   && r.top >= box.top - tol && r.bottom <= box.bottom + tol;
  document.querySelectorAll("[data-testid='stMetric']").forEach(m => {
    for (const sel of ["[data-testid='stMetricValue']", "[data-testid='stMetricLabel']", "[data-testid='stMetricDelta']"]) {
      m.querySelectorAll(sel + ", " + sel + " *").forEach(e => {
        if (e.scrollWidth > e.clientWidth + 1) bad.push(`metric cut: ${m.innerText.replace(/\\s+/g, " ")}`);
      });
    }
  });
  document.querySelectorAll(".js-plotly-plot").forEach(gd => {
    const box = gd.getBoundingClientRect();
    const place = gd.closest("[data-testid='stElementContainer']") || gd.parentElement;
    const name = (gd.layout && gd.layout.title && gd.layout.title.text) || "chart";
    if (box.width > place.getBoundingClientRect().width + 1) bad.push(`chart wider than its place: ${name}`);
    gd.querySelectorAll(".main-svg text, .main-svg .annotation").forEach(t => {
      const r = t.getBoundingClientRect();
      if (!r.width || !t.textContent.trim()) return;
      if (!inside(r, box, 1)) bad.push(`text cut at the edge of 「${name}」: ${t.textContent.slice(0, 40)}`);
    });
    const geo = gd._fullLayout && gd._fullLayout.geo && gd._fullLayout.geo._subplot;
    if (geo && gd.data.some(t => t.type === "choropleth" && t.locations && t.locations.length <= 13)) {
      const svg = gd.querySelector(".main-svg").getBoundingClientRect(), sz = gd._fullLayout._size;
      const area = {left: svg.left + sz.l, right: svg.left + sz.l + sz.w, top: svg.top + sz.t, bottom: svg.top + sz.t + sz.h};
      gd.data.filter(t => t.type === "choropleth" && t.geojson && t.locations.length <= 13).forEach(t =>
        t.geojson.features.filter(f => t.locations.includes(f.id)).forEach(f => {
          const ring = f.geometry.type === "Polygon" ? f.geometry.coordinates.flat() : f.geometry.coordinates.flat(2);
          const out = ring.filter(ll => !inside((p => ({left: p[0] + svg.left, right: p[0] + svg.left,
              top: p[1] + svg.top, bottom: p[1] + svg.top}))(geo.projection(ll)), area, 2));
          if (out.length) bad.push(`map crops ${f.properties.name || f.id} in 「${name}」`);
        }));
    }
  });
  document.querySelectorAll("[data-testid='stDataFrame']").forEach((d, i) => {
    const s = d.querySelector(".dvn-scroller");
    if (s && s.scrollWidth > s.clientWidth + 1)
      bad.push(`table ${i + 1} scrolls sideways: ${[...d.querySelectorAll("th")].map(h => h.textContent).join(" | ")}`);
  });
  return bad;
}"""


ADMIN = "layout_admin"  # pages only an administrator is offered (系统管理) are reached logged in


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = demo_db_copy(tmp_path_factory.mktemp("db"))
    make_user(db, ADMIN, "admin")
    return db


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("layout")


# Every change to the page is stamped; a page has settled when nothing has changed for a while
# (a chart's own resize after the columns found their width, a second script run).
STAMP = """new MutationObserver(() => { window.__lastChange = performance.now(); })
  .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});"""


def open_page(browser, base_url: str, url: str, size: tuple[int, int]):
    """The page at ``size``: by its address, or (a page offered only to administrators) from the
    sidebar after logging in as one (a reload would end the login)."""
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    ctx.add_init_script(STAMP)
    outside: list[str] = []
    ctx.on("request", lambda r: None if is_local(r.url) else outside.append(r.url))
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT)
    path = "" if url == DEFAULT else url
    page.goto(f"{base_url}/{path}" + (f"?{QUERY[url]}" if url in QUERY else ""))
    settle(page)
    title = next(t for t, u in PAGES if u == url)
    if page.locator("[data-testid='stDialog']").count() or not page.locator("h1", has_text=title).count():
        page.goto(base_url + "/")  # not offered to a visitor: log in, then open it from the sidebar
        settle(page)
        sidebar_login(page, ADMIN, PASSWORD)
        page.locator(f"[data-testid='stSidebarNavLink']:has(span[label='{title}'])").click()
        page.locator("h1", has_text=title).first.wait_for()
        settle(page)
    assert not outside, f"requests left the machine: {outside}"
    return ctx, page


def settle(page) -> None:
    """The script run is over, every chart has drawn, and the page is still."""
    page.locator("h1").first.wait_for()
    idle(page)
    page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')].every(
        g => g._fullLayout && g.querySelector('.main-svg'))
        && performance.now() - (window.__lastChange || 0) > 600""", polling=100)


def readable(page) -> list[str]:
    texts = page.evaluate(READABLE)
    # the table toolbar and a chart's toolbar appear when the mouse is over them: show each once
    for sel in ("[data-testid='stDataFrame']", ".js-plotly-plot"):
        for el in [e for e in page.locator(sel).all() if e.is_visible()][:3]:  # not those in closed tabs
            el.scroll_into_view_if_needed()
            el.hover()
            texts += page.evaluate(READABLE)
    return texts


@pytest.mark.parametrize("title,url", PAGES)
def test_no_english_on_the_page(base_url, browser, shots, title, url):
    ctx, page = open_page(browser, base_url, url, (1366, 768))
    try:
        assert page.locator("[data-testid='stMainMenu']").count() == 0, "the main menu (Print, Record screen…) shows"
        found = sorted({m.group(0) + f"  ←  {t[:90]}" for t in readable(page) for m in ENGLISH_RE.finditer(t)})
        assert not found, f"{title}: English on the page:\n" + "\n".join(found)
    finally:
        page.screenshot(path=str(shots / f"zh_{url}.png"), full_page=True)
        ctx.close()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_page_whole_at_office_screen_sizes(base_url, browser, shots, size):
    problems = []
    for title, url in PAGES:
        ctx, page = open_page(browser, base_url, url, size)
        try:
            problems += [f"{title} @{size[0]}: {p}" for p in page.evaluate(CUT)]
            shot = shots / f"{url}_{size[0]}.png"
            page.screenshot(path=str(shot))
            print(f"screenshot: {shot}")
        finally:
            ctx.close()
    assert not problems, "\n".join(problems)
