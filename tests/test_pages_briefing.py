"""The 简报 page on the demo database (AppTest: the real script, no browser)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.dbfixtures import demo_db_copy
from tests.test_pages_region import open_page

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo(tmp_path):
    return demo_db_copy(tmp_path)


def open_briefing(monkeypatch, db, **params) -> AppTest:
    return open_page(monkeypatch, db, "briefing", **params)


def test_briefing_page_region_text_and_figures(demo, monkeypatch):
    at = open_briefing(monkeypatch, demo, as_of="2019-12-31")
    md = "\n".join(m.value for m in at.markdown)
    for h in ("一、总体进展", "二、各项指标完成情况", "三、各地区进展", "四、合作国别与领域", "五、数据说明"):
        assert h in md
    assert "演示数据" in md
    # the demo's 阿拉善盟 did not send 2019H2: said in the coverage note
    assert "阿拉善盟沿用2019年上半年报表" in md
    doc = json.loads(subprocess.run(
        [sys.executable, "-m", "pipelines.progress", "--db", str(demo), "--as-of", "2019-12-31", "--json"],
        capture_output=True, text=True, cwd=REPO, check=True).stdout)
    i09 = {r["indicator_code"]: r for r in doc["indicators"]}["I09"]["value"]
    assert f"全区累计建成院士专家工作站{i09}家" in md
    # one chart at a time, chosen among the five of the Word pack
    assert len(at.get("plotly_chart")) == 1
    choice = at.radio(key="briefing_chart")
    assert list(choice.options) == ["指标完成率与时间进度", "各项指标进度趋势", "各盟市在册合作事项", "各领域合作事项",
                                    "主要合作国家"]
    at = choice.set_value("03_各盟市在册合作事项").run()
    assert "在册合作事项" in at.get("plotly_chart")[0].proto.spec and at.query_params["chart"] == "03_各盟市在册合作事项"


def test_briefing_full_text_is_drawn_when_its_box_is_opened(demo, monkeypatch):
    at = open_briefing(monkeypatch, demo, as_of="2019-12-31")
    assert [e.label for e in at.expander if "复制全文" in e.label] and not at.code  # closed: not drawn
    at.session_state["briefing_copy"] = True  # opened, as a click on it does
    at.run()
    text = at.code[0].value
    assert "一、总体进展" in text and "五、数据说明" in text and "**" not in text  # plain text to copy


def test_briefing_page_one_unit_from_the_link(demo, monkeypatch):
    at = open_briefing(monkeypatch, demo, as_of="2019-06-30", scope="150200")
    md = "\n".join(m.value for m in at.markdown)
    assert "包头市" in md and "占全区目标" in md and "在有报表的13个填报单位中居第" in md
    assert len(at.radio(key="briefing_chart").options) == 4  # no ranking of units for one unit


def test_chart_exports_from_demo_data_are_marked(demo, monkeypatch):
    import pipelines.figures as figures

    asked = []
    monkeypatch.setattr(figures, "export_image", lambda fig, fmt, **kw: asked.append(kw) or b"png")
    at = open_page(monkeypatch, demo, "overview")
    at.button(key="gen_overview_bars_png").click().run()
    assert asked == [{"demo": True}]
