"""The overview page on the demo database (AppTest: the real script, no browser)."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from pipelines.reference import load_reference
from tests.dbfixtures import demo_db_copy
from tests.factories import load_values

REPO = Path(__file__).resolve().parent.parent


def run_overview(monkeypatch, db, **params) -> AppTest:
    monkeypatch.setenv("KJHZ_DB", str(db))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def test_overview_shows_14_indicators_and_demo_label(tmp_path, monkeypatch):
    at = run_overview(monkeypatch, demo_db_copy(tmp_path))
    assert any("演示数据" in w.value for w in at.warning)
    table = at.dataframe[0].value
    codes = load_reference().plan.indicators["code"].tolist()
    assert table["编码"].tolist() == codes
    # default as-of: the latest period with data
    assert "截至2020年12月底" in at.markdown[0].value or any("截至2020年12月底" in m.value for m in at.markdown)
    assert set(table["状态"]) <= {"已完成", "超前", "略滞后", "滞后", "无数据", "未设目标"}


def test_overview_as_of_from_url_discloses_missing_and_carried(tmp_path, monkeypatch):
    # the demo's 阿拉善盟 did not send its 2019H2 return: its figures are carried forward
    at = run_overview(monkeypatch, demo_db_copy(tmp_path), as_of="2019-12-31")
    texts = " ".join(m.value for m in at.markdown)
    assert "截至2019年12月底" in texts
    carried = at.dataframe[2].value
    assert set(carried["单位"]) == {"阿拉善盟"}
    assert carried["来自报告期"].tolist() == ["2019年上半年"] and carried["指标数"].tolist() == [14]
    basis = at.dataframe[1].value
    assert basis.set_index("单位").loc["阿拉善盟", "状态"] == "结转"


def test_overview_empty_database_explains_what_to_do(tmp_path, monkeypatch):
    from pipelines.store import init_db
    db = tmp_path / "empty.duckdb"
    init_db(db)
    at = run_overview(monkeypatch, db)
    assert any("还没有任何报表入库" in i.value for i in at.info)
    assert not at.dataframe


def test_unknown_as_of_in_link_falls_back_with_notice(tmp_path, monkeypatch):
    db = tmp_path / "x.duckdb"
    load_values(db, "150100", "2019H1", {"I09": 40})
    at = run_overview(monkeypatch, db, as_of="2019-03-31")
    assert any("没有数据" in i.value for i in at.info)
    assert at.dataframe[0].value.set_index("编码").loc["I09", "累计值"] == "40"
    # real (non-demo) data: no demo label
    assert not any("演示数据" in w.value for w in at.warning)


def test_as_of_inside_a_period_from_a_link_is_kept(tmp_path, monkeypatch):
    db = tmp_path / "x.duckdb"
    load_values(db, "150100", "2019H1", {"I09": 40})
    load_values(db, "150100", "2019H2", {"I09": 50})
    at = run_overview(monkeypatch, db, as_of="2019-09-30")
    texts = " ".join(m.value for m in at.markdown)
    assert "截至2019年9月底" in texts
    # 2019-09-30 lies inside 2019H2: the unit's latest return ending on or before it is 2019H1's
    assert at.dataframe[0].value.set_index("编码").loc["I09", "累计值"] == "40"
    assert at.query_params["as_of"] == ["2019-09-30"] or at.query_params["as_of"] == "2019-09-30"


def test_export_offers_only_the_image_of_the_chart_as_shown(tmp_path, monkeypatch):
    import pipelines.figures as figures
    monkeypatch.setattr(figures, "export_image", lambda fig, fmt, **kw: f"{fig.layout.title.subtitle.text}".encode())
    db = tmp_path / "x.duckdb"
    load_values(db, "150100", "2019H1", {"I09": 40})
    load_values(db, "150100", "2019H2", {"I09": 50})
    at = run_overview(monkeypatch, db)
    at.button(key="gen_overview_bars_png").click().run()
    [dl] = [b for b in at.get("download_button") if b.proto.label.startswith("下载 PNG")]
    at.selectbox[0].select(at.selectbox[0].options[1]).run()  # another as-of date
    assert not [b for b in at.get("download_button") if b.proto.label.startswith("下载 PNG")]
    assert any("图表已变化" in c.value for c in at.caption)


def test_chart_kept_between_runs_and_redrawn_when_a_return_is_loaded(tmp_path, monkeypatch):
    """Figures are kept between reruns (ui.common.figure), never past a change of the data: the
    overview's chart shows a newly loaded return at the next run."""
    import json

    import pipelines.figures as figures

    db = tmp_path / "x.duckdb"
    load_values(db, "150100", "2019H1", {"I09": 40})
    built = []
    real = figures.progress_bars  # pages/overview.py takes it from here at every run
    monkeypatch.setattr(figures, "progress_bars", lambda *a, **k: built.append(1) or real(*a, **k))

    def chart_values(at) -> str:
        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        return json.dumps([tr.get("customdata") or tr.get("text") for tr in spec["data"]], ensure_ascii=False)

    at = run_overview(monkeypatch, db)
    first = chart_values(at)
    at.run()
    assert chart_values(at) == first
    assert len(built) == 1, "the same data and filters drew the chart again"
    load_values(db, "150100", "2019H1", {"I09": 75})  # a corrected return: its second version
    at.run()
    assert len(built) == 2
    assert chart_values(at) != first
