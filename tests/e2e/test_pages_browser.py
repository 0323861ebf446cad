"""Every page of the app in a real browser, on the demo data (issue 4, "Tests and proof").

One ``streamlit run app.py`` serves a private copy of the demo database for the
whole module; each test opens fresh browser contexts (no shared session state,
as when a user pastes a link into a new window). Checked, as a user would notice:

- every page in app.py's navigation opens from the sidebar, and from a deep link
  as the first request (through app.py: the sidebar shows the section titles),
  draws its charts (or its key element) and shows no exception;
- the maps really draw shapes: pixels at units / countries differ from the
  white background, China's fill covers Taiwan;
- a click on the 按盟市 map or ranking opens that unit, on the 按国别 map or a
  bar filters by that country, on a 按领域 bar by that sector; filters set on
  one page travel to the next;
- a copied URL (as_of, unit, sector, type, partner) restores the same view in a
  fresh browser; a link with an unknown code shows a notice;
- no request ever leaves localhost.

A screenshot of every page is saved under the module's temp folder (paths printed).
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.server import CHROMIUM, REPO, idle, is_local, navigation, open_dropdown
from ui.navigation import DEFAULT_PAGE

sync_api = pytest.importorskip("playwright.sync_api")
Image = pytest.importorskip("PIL.Image")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")

TIMEOUT = 120_000  # generous: a busy 2-core machine; every wait is for a condition, never a fixed time
VIEWPORT = {"width": 1400, "height": 1000}
OUTSIDE: list[str] = []  # every request to anything but this machine, over the whole module
# what a failing page or a missing value shows (ASCII words: \b would not split them from Chinese)
ERROR_TEXT = re.compile(r"(?<![A-Za-z])(Traceback|\w*Exception|\w*Error|NaN|nan|NaT|None|null|undefined)(?![A-Za-z])")
MAP_GD = "[...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout && g._fullLayout.geo)"


# what a visitor who has not logged in is offered (系统管理 only appears for an administrator)
SECTIONS = {k: v for k, v in navigation().items() if k != "系统管理"}
DEFAULT = DEFAULT_PAGE
NAV = [(section, title, url) for section, entries in SECTIONS.items() for _, title, _, url in entries]

# What each page must show. A deep link opens the page with filters; the page must draw at least
# `charts` plotly charts and its `key` element, show `texts`, and the sidebar must show the filters
# from the link (`chips`: multiselect label -> chosen items). `subtitle`: words every chart
# subtitle on the page must contain (the scope and as-of date of the link).
UNIT, UNIT_NAME = "150200", "包头市"
AS_OF, AS_OF_ZH = "2019-12-31", "2019年12月31日"
DATAFRAME = "[data-testid='stDataFrame']"
PAGES = {
    "overview": dict(query=f"as_of={AS_OF}&unit={UNIT}", charts=1, chips={"填报单位": [UNIT_NAME]},
                     subtitle=[UNIT_NAME, f"截至{AS_OF_ZH}"]),
    "briefing": dict(query=f"as_of={AS_OF}&scope={UNIT}", charts=1, texts=["五、数据说明", f"{UNIT_NAME}在册合作事项"],
                     subtitle=[UNIT_NAME, f"截至{AS_OF_ZH}"]),
    "trends": dict(query=f"as_of={AS_OF}&unit={UNIT}", charts=1, chips={"填报单位": [UNIT_NAME]},
                   subtitle=[UNIT_NAME, f"截至{AS_OF_ZH}"]),
    "region": dict(query=f"as_of={AS_OF}&unit={UNIT}", charts=3, texts=[f"{UNIT_NAME}（{UNIT}）"],
                   chips={"填报单位": [UNIT_NAME]}, subtitle=[f"截至{AS_OF_ZH}"]),
    "sector": dict(query=f"as_of={AS_OF}&sector=S04", charts=1, chips={"所属领域": ["稀土新材料"]},
                   subtitle=[f"截至{AS_OF_ZH}", "稀土新材料"]),
    "partner": dict(query=f"as_of={AS_OF}&partner=G01", charts=1, chips={"合作国家（地区）或分组": ["中俄蒙经济走廊"]},
                    subtitle=[f"截至{AS_OF_ZH}", "中俄蒙经济走廊"]),
    "explorer": dict(query=f"as_of={AS_OF}&type=T04&unit={UNIT}", key=DATAFRAME,
                     chips={"填报单位": [UNIT_NAME], "事项类别": ["国际科技合作项目"]}),
    "upload": dict(key="text=报送报表需要登录"),  # not logged in: the way to the login, no uploader
    "reporting": dict(query=f"unit={UNIT}", charts=1, chips={"填报单位": [UNIT_NAME]}, subtitle=[UNIT_NAME]),
    "history": dict(key="text=查看版本历史需要登录"),
    "login": dict(key="[data-testid='stMain'] [data-testid='stForm']"),
}
for _spec in PAGES.values():
    for _k, _default in (("query", ""), ("charts", 0), ("key", None), ("texts", []), ("chips", {}), ("subtitle", [])):
        _spec.setdefault(_k, _default)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def new_page(browser):
    """new_page() -> a page in a fresh browser context (a new window: no session, no cookies)."""
    contexts = []

    def make():
        ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        ctx.on("request", lambda r: None if is_local(r.url) else OUTSIDE.append(r.url))
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT)
        return page

    yield make
    for c in contexts:
        c.close()
    assert OUTSIDE == [], f"requests left the machine: {OUTSIDE}"


# ----------------------------------------------------------------------------- helpers
def settle(page, title: str, charts: int = 0, key: str | None = None) -> None:
    """Wait until the page titled ``title`` has run and drawn ``charts`` plotly charts and ``key``."""
    page.locator("h1", has_text=title).first.wait_for()
    idle(page)
    if charts:
        page.wait_for_function(
            """(n) => { const gs = [...document.querySelectorAll('.js-plotly-plot')];
                        return gs.length >= n && gs.every(g => g._fullLayout && g.querySelector('.main-svg')); }""",
            arg=charts)
    if key:
        page.locator(key).first.wait_for()
    if page.evaluate(f"() => !!{MAP_GD}"):
        wait_map(page)


def wait_map(page) -> None:
    """The map's shapes are drawn (an SVG map: a path for every place)."""
    page.wait_for_function(f"() => {{ const gd = {MAP_GD}; return gd && gd.querySelectorAll('.choroplethlocation').length > 0; }}")


def assert_no_error(page, where: str) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, f"{where}: Streamlit shows an exception"
    dialogs = page.locator("[role='dialog']").all_inner_texts()  # e.g. Streamlit's "Page not found"
    assert not dialogs, f"{where}: a dialog is open: {dialogs}"
    text = page.locator("[data-testid='stMain']").inner_text()
    bad = ERROR_TEXT.search(text)
    assert bad is None, f"{where}: error text on the page: …{text[max(0, bad.start() - 80):bad.end() + 80]}…"


def nav_link(page, title: str):
    return page.locator(f"[data-testid='stSidebarNavLink']:has(span[label='{title}'])")


def nav_sections(page) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid='stNavSectionHeader']").all_inner_texts()]


def chips(page, label: str) -> list[str]:
    """The items chosen in the sidebar multiselect labelled ``label``."""
    box = page.locator(f"[data-testid='stSidebar'] [data-testid='stMultiSelect']:has(input[aria-label='{label}'])")
    return [t.get_attribute("aria-label") for t in box.locator("[data-tag]").all()]


def as_of_shown(page) -> str:
    return page.locator("[data-testid='stSidebar'] input[aria-label='截止日期']").input_value()


def chart_subtitles(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(
        g => (g.layout.title && g.layout.title.subtitle && g.layout.title.subtitle.text) || '')""")


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def shot(page, shots: Path, name: str) -> Path:
    path = shots / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def screen_at(page, lonlat: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Viewport positions of (lon, lat) points on the page's map, asked from the map's own projection."""
    return page.evaluate(f"""(pts) => {{ const gd = {MAP_GD}; const geo = gd._fullLayout.geo._subplot;
        const r = gd.querySelector('.main-svg').getBoundingClientRect();
        return pts.map(ll => {{ const p = geo.projection(ll); return [r.left + p[0], r.top + p[1]]; }}); }}""", lonlat)


def pixels(page, points) -> list[tuple[int, int, int]]:
    img = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    return [img.getpixel((int(x), int(y))) for x, y in points]


def near(a, b, tol: int = 14) -> bool:
    return all(abs(u - v) <= tol for u, v in zip(a, b))


WHITE = (255, 255, 255)


def bluish(c) -> bool:
    """A colour of the maps' blue scale (not white, not grey text or outline)."""
    return c[2] - c[0] >= 25 and not near(c, WHITE, 8)


def hover_click(page, x: float, y: float, expect: str) -> None:
    """Click like a user: hover first, and click once plotly shows the hover label with ``expect``
    in it (plotly takes a click's point from the hover, so a click before it would be lost)."""
    page.mouse.move(x, y - 40)
    page.mouse.move(x, y, steps=4)
    page.wait_for_function("""(want) => [...document.querySelectorAll('.js-plotly-plot .hoverlayer .hovertext')]
                                .some(h => h.textContent.includes(want))""", arg=expect)
    page.mouse.click(x, y)


def click_bar(page, chart_title: str, label: str | None = None) -> str:
    """Click a bar (by its category label, or the first) of the chart whose title matches ``chart_title``."""
    box = page.evaluate("""([title, label]) => {
        const gd = [...document.querySelectorAll('.js-plotly-plot')].find(
            g => g.layout && g.layout.title && new RegExp(title).test(g.layout.title.text || ''));
        if (!gd) return null;
        for (const g of gd.querySelectorAll('.trace.bars')) {  // each bar drawn knows its trace and index
            const trace = g.__data__[0].trace;
            const cats = trace.orientation === 'h' ? trace.y : trace.x;
            for (const el of g.querySelectorAll('.point')) {
                const d = el.__data__;
                if (d.isBlank || !d.s || (label !== null && cats[d.i] !== label)) continue;
                el.scrollIntoView({block: 'center'});
                const r = el.getBoundingClientRect();
                return {x: r.left + r.width / 2, y: r.top + r.height / 2, label: cats[d.i]};
            }
        }
        return null;
    }""", [chart_title, label])
    assert box, f"no bar {label or ''} in a chart titled …{chart_title}…"
    hover_click(page, box["x"], box["y"], box["label"])
    return box["label"]


# Counts each plotly chart's layouts (plotly_afterplot), hooked as the chart is created.
COUNT_DRAWS = """window.__draws = [];
new MutationObserver(() => {
  for (const g of document.querySelectorAll('.js-plotly-plot')) {
    if (g.__counted || !g.on) continue;
    const d = {n: 0}; g.__counted = true; window.__draws.push(d);
    g.on('plotly_afterplot', () => { d.n += 1; });
  }
}).observe(document, {subtree: true, childList: true});"""


# ----------------------------------------------------------------------------- tests
def test_navigation_matches_app():
    """The spec below covers exactly the pages app.py's navigation lists (a new page needs a spec)."""
    assert {url for _, _, url in NAV} == set(PAGES)
    assert list(navigation()) == ["进展监测", "数据报送", "系统管理", "账户"]
    assert list(SECTIONS) == ["进展监测", "数据报送", "账户"]


def test_sidebar_navigation_opens_every_page(base_url, new_page, shots):
    page = new_page()
    page.goto(base_url + "/")
    settle(page, "总览", charts=1)
    assert nav_sections(page) == list(SECTIONS)
    for section, title, url in NAV:
        spec = PAGES[url]
        nav_link(page, title).click()
        path = "" if url == DEFAULT else url  # the default page lives at "/"
        page.wait_for_url(re.compile(rf"{re.escape(base_url)}/{path}(\?|$)"), wait_until="commit")
        settle(page, title, charts=spec["charts"], key=spec["key"])
        assert_no_error(page, f"{title} (from the sidebar)")
        assert nav_link(page, title).get_attribute("aria-current") == "page"
        shot(page, shots, f"nav_{url}")


@pytest.mark.parametrize("url", list(PAGES))
def test_deep_link_opens_page_with_its_filters(base_url, new_page, shots, url):
    """A link to the page, with filters, as the first request of a new browser window."""
    spec = PAGES[url]
    title = next(t for _, t, u in NAV if u == url)
    page = new_page()
    page.add_init_script(COUNT_DRAWS)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(urlsplit(r.url).path))
    path = "" if url == DEFAULT else url  # the default page's own URL is "/" (what a copied link holds)
    page.goto(f"{base_url}/{path}" + (f"?{spec['query']}" if spec["query"] else ""))
    settle(page, title, charts=spec["charts"], key=spec["key"])
    # every chart was laid out once (Streamlit's chart element, as ui.launch serves it, waits for its
    # width and does not theme the figure a second time: each extra layout cost up to 0.1 s)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__draws.map(d => d.n)") == [1] * page.locator(".js-plotly-plot").count()
    # it connected at once: it never took its own address for the app's (a failed health check there
    # and a back-off before the right one; ui.launch tells the page the app's address)
    assert [p for p in asked if "/_stcore/" in p and not p.startswith("/_stcore/")] == []
    assert "/_stcore/health" in asked
    for text in spec["texts"]:
        page.get_by_text(text).first.wait_for()
    shot(page, shots, f"link_{url}")
    assert_no_error(page, f"{title} (deep link)")
    # through app.py: the sidebar navigation with its Chinese sections, not the page files
    assert nav_sections(page) == list(SECTIONS)
    assert "科技创新合作三年行动计划" in page.locator("[data-testid='stSidebar']").inner_text()
    for label, want in spec["chips"].items():
        assert chips(page, label) == want, f"{title}: sidebar {label} shows {chips(page, label)}, link asked {want}"
    if "as_of=" in spec["query"]:
        assert as_of_shown(page) == AS_OF_ZH
        assert query(page)["as_of"] == AS_OF
    subs = chart_subtitles(page)
    assert len(subs) >= spec["charts"]
    for words in spec["subtitle"]:
        assert all(words in s for s in subs), f"{title}: a chart subtitle lacks 「{words}」: {subs}"
    # the link's filters stay in the URL (a copy of it opens the same view)
    for k, v in parse_qs(spec["query"]).items():
        assert query(page).get(k) == v[0]


def test_region_map_draws_units_and_clicks_open_a_unit(base_url, new_page, shots):
    page = new_page()
    page.goto(f"{base_url}/region?as_of={AS_OF}")
    settle(page, "按盟市", charts=3)
    assert_no_error(page, "按盟市")
    traces = page.evaluate(f"""() => {{ const gd = {MAP_GD};
        const ch = gd.data.filter(t => t.type === 'choropleth');
        const f = {{}}; ch.forEach(t => t.geojson.features.forEach(x => f[x.id] = [x.properties.label_lon, x.properties.label_lat]));
        return {{n: ch.reduce((a, t) => a + t.locations.length, 0), labels: f}}; }}""")
    assert traces["n"] == 12, "the map must show the 12 leagues and cities"
    # the shapes are drawn: inside big units the map's blue scale, in Mongolia (beside the region) white
    # points inside big units, clear of their labels (drawn over the shapes, in a white halo)
    big = {"150700": (121.6, 48.6), "152900": (103.4, 41.6), "152500": (114.3, 42.7), "150400": (118.5, 42.0),
           "150600": (108.5, 38.2)}  # 呼伦贝尔 阿拉善 锡林郭勒 赤峰 鄂尔多斯
    pts = screen_at(page, list(big.values()) + [(112.0, 47.0), (98.0, 45.0)])
    px = pixels(page, pts)
    shot(page, shots, "region_map")
    assert all(bluish(c) for c in px[:5]), f"units not filled on the map: {dict(zip(big, px))}"
    assert len(set(px[:5])) >= 2, f"units not coloured by value: {px[:5]}"
    assert all(near(c, WHITE) for c in px[5:]), f"outside the region is not background: {px[5:]}"

    # a click on 鄂尔多斯 on the map opens its view
    (x, y), = screen_at(page, [big["150600"]])
    hover_click(page, x, y, "鄂尔多斯")
    page.wait_for_url(re.compile(r"unit=150600"), wait_until="commit")
    page.get_by_text("鄂尔多斯市（150600）").wait_for()
    settle(page, "按盟市", charts=3)
    assert chips(page, "填报单位") == ["鄂尔多斯市"]
    assert query(page)["as_of"] == AS_OF

    # a click on a bar of the ranking opens that unit instead
    page.get_by_text("鄂尔多斯市（150600）").wait_for()
    wait_map(page)
    click_bar(page, "排名", "兴安盟")
    page.wait_for_url(re.compile(r"unit=152200"), wait_until="commit")
    page.get_by_text("兴安盟（152200）").wait_for()
    settle(page, "按盟市", charts=3)
    assert chips(page, "填报单位") == ["兴安盟"]
    assert_no_error(page, "按盟市 after clicks")
    shot(page, shots, "region_unit_view")

    # the copied URL in a new window opens the same unit
    copied = page.url
    other = new_page()
    other.goto(copied)
    settle(other, "按盟市", charts=3)
    other.get_by_text("兴安盟（152200）").wait_for()
    assert chips(other, "填报单位") == ["兴安盟"] and as_of_shown(other) == AS_OF_ZH


def test_partner_world_map_draws_china_whole_and_click_filters(base_url, new_page, shots):
    page = new_page()
    page.goto(f"{base_url}/partner?as_of=2020-12-31")
    settle(page, "按国别", charts=1)
    names = page.evaluate(f"() => {MAP_GD}.data.map(t => t.name)")
    assert {"中国", "合作国家", "南海断续线"} <= set(names)
    # Taiwan and Hebei in China's fill, Mongolia and Russia in the partner scale, the open ocean white
    places = {"台湾": (120.95, 23.7), "河北": (115.5, 38.5), "蒙古国": (103.0, 46.5), "俄罗斯": (100.0, 62.0),
              "印度洋": (75.0, -15.0), "太平洋": (160.0, 25.0)}
    px = dict(zip(places, pixels(page, screen_at(page, list(places.values())))))
    shot(page, shots, "partner_map")
    china = (0xF6, 0xE7, 0xC8)
    assert near(px["台湾"], china) and near(px["河北"], china), f"China not drawn whole: {px}"
    assert bluish(px["蒙古国"]) and bluish(px["俄罗斯"]), f"partner countries not coloured: {px}"
    assert near(px["印度洋"], WHITE) and near(px["太平洋"], WHITE), f"sea not white: {px}"

    # a click on Russia filters the page (and every page) to Russia
    (x, y), = screen_at(page, [places["俄罗斯"]])
    hover_click(page, x, y, "俄罗斯")
    page.wait_for_url(re.compile(r"partner=RUS"), wait_until="commit")
    settle(page, "按国别", charts=1)
    page.wait_for_function(f"""() => {{ const gd = {MAP_GD};
        const t = gd && gd.data.find(t => t.name === '合作国家'); return t && t.locations.length === 1; }}""")
    assert chips(page, "合作国家（地区）或分组") == ["俄罗斯"]
    assert_no_error(page, "按国别 after a click on Russia")


def test_filters_travel_and_a_copied_url_restores_them(base_url, new_page, shots):
    """Set every filter the way a user does, across pages; the URL then opens the same view elsewhere."""
    page = new_page()
    page.goto(f"{base_url}/partner?as_of={AS_OF}&unit={UNIT}&view=top")  # the bar chart of partners
    settle(page, "按国别", charts=1)

    # an item type from the sidebar
    open_dropdown(page.locator("[data-testid='stSidebar'] input[aria-label='事项类别']"))
    page.get_by_role("option", name="国际科技合作项目", exact=True).click()
    page.wait_for_url(re.compile(r"type=T04"), wait_until="commit")
    page.keyboard.press("Escape")
    page.get_by_text("类别：国际科技合作项目").first.wait_for()
    settle(page, "按国别", charts=1)

    # a partner country from the bar chart of partners
    partner = click_bar(page, "主要合作国家|各合作国家")
    page.wait_for_url(re.compile(r"partner="), wait_until="commit")
    page.get_by_text(f"合作方：{partner}").first.wait_for()
    settle(page, "按国别", charts=1)

    # to 按领域 by the sidebar: the filters come along; a click on a sector's bar adds it
    nav_link(page, "按领域").click()
    page.wait_for_url(re.compile(r"/sector\?"), wait_until="commit")
    settle(page, "按领域", charts=1)
    assert {k: query(page).get(k) for k in ("as_of", "unit", "type")} == {"as_of": AS_OF, "unit": UNIT, "type": "T04"}
    assert chips(page, "合作国家（地区）或分组") == [partner]
    sector = click_bar(page, "事项数与投入经费")
    page.wait_for_url(re.compile(r"sector=S\d\d"), wait_until="commit")
    page.get_by_text(f"当前筛选 — 领域：{sector}").wait_for()
    settle(page, "按领域", charts=1)
    assert chips(page, "所属领域") == [sector]
    assert all(sector in s for s in chart_subtitles(page)), chart_subtitles(page)
    shot(page, shots, "sector_after_bar_click")
    copied = page.url
    want = query(page)
    assert set(want) >= {"as_of", "unit", "sector", "type", "partner"}, copied
    assert_no_error(page, "按领域 with every filter")

    other = new_page()
    other.goto(copied)
    settle(other, "按领域", charts=1)
    shot(other, shots, "sector_restored")
    assert_no_error(other, "按领域 from a copied URL")
    assert as_of_shown(other) == AS_OF_ZH
    assert chips(other, "填报单位") == [UNIT_NAME]
    assert chips(other, "所属领域") == [sector]
    assert chips(other, "事项类别") == ["国际科技合作项目"]
    assert chips(other, "合作国家（地区）或分组") == [partner]
    caption = other.get_by_text("当前筛选 — ").first.inner_text()
    assert all(w in caption for w in (sector, "国际科技合作项目", partner)), caption
    subs = chart_subtitles(other)
    assert subs and all(UNIT_NAME in s and f"截至{AS_OF_ZH}" in s for s in subs), subs
    assert query(other) == want


def test_unknown_code_in_link_shows_a_notice(base_url, new_page, shots):
    page = new_page()
    page.goto(f"{base_url}/explorer?unit={UNIT},999999&sector=S99&as_of=2017-06-30")
    settle(page, "明细查询", key="[data-testid='stDataFrame']")
    shot(page, shots, "explorer_unknown_codes")
    notices = " ".join(page.locator("[data-testid='stAlert']").all_inner_texts())
    assert "单位代码 999999 无法识别" in notices
    assert "领域代码 S99 无法识别" in notices
    assert "截止日期 2017-06-30 没有数据" in notices  # before the first return: the latest period instead
    assert as_of_shown(page) == "2020年12月31日"
    # the known code still applies, the unknown ones are gone from the URL (a copy of it is clean)
    assert chips(page, "填报单位") == [UNIT_NAME] and chips(page, "所属领域") == []
    assert query(page).get("unit") == UNIT and "sector" not in query(page)
    assert_no_error(page, "明细查询 from a link with unknown codes")
