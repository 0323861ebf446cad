"""The briefing pack: a Word document (.docx) and a zip with every figure as PNG.

The document is what an office files as a monthly briefing: A4, 仿宋 body text
(宋体 in the table), 黑体 headings, a 宋体 title, page numbers in the footer
(「— 1 —」), then the generated text (pipelines.narrative), the 14-indicator table
(value, target, 完成率, 时间进度, 差距, status) and the key figures as images.
Figures are rendered in one batch by the process's one warm renderer.

Example (a scheduled job):
    python -m pipelines briefing --db var/kjhz.duckdb --as-of 2019-06-30 [--unit 150200] --out 简报/
"""
from __future__ import annotations

if __name__ == "__main__":  # `python -m pipelines.briefing`: the command itself, before this module's imports
    from .cli import run_module

    run_module("briefing")

import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from .narrative import BriefingData, Narrative, briefing_figures, gather, narrative
from .reference import Reference, load_reference
from .vocab import DASH, STATUS_SUBSET, VERDICTS, date_zh, is_missing, pct

BODY_FONT = "仿宋"
TABLE_FONT = "宋体"
HEADING_FONT = "黑体"
TITLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 10
FIGURE_WIDTH_PX = 1200  # kaleido layout width; PNGs are rendered at 2x (2400 px)
FIGURE_SCALE = 2
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_MIME = "application/zip"
TABLE_HEADERS = ["序号", "指标", "计量单位", "累计值", "目标值", "完成率", "时间进度", "差距（百分点）", "状态"]


@dataclass
class Pack:
    docx: bytes
    zip: bytes
    docx_name: str
    zip_name: str
    figure_names: list[str]


def file_stem(data: BriefingData) -> str:
    return f"{data.scope}_{data.as_of.isoformat()}"


# --------------------------------------------------------------------------
def _set_font(run_or_style, name: str, size_pt: float | None = None, bold: bool | None = None) -> None:
    """Latin and East Asian font names (w:rFonts w:eastAsia), so Word uses ``name`` for Chinese."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    font = run_or_style.font
    font.name = LATIN_FONT if name != HEADING_FONT else name
    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), name)
    if size_pt is not None:
        font.size = Pt(size_pt)
    if bold is not None:
        font.bold = bold


def _page_number_footer(section) -> None:
    """「— 1 —」 centred in the footer: a PAGE field, so Word numbers every page."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def run(text: str | None = None):
        r = p.add_run(text or "")
        _set_font(r, TABLE_FONT, 12)
        return r

    run("— ")
    r = run()
    for tag, attrs, text in (("w:fldChar", {"w:fldCharType": "begin"}, None),
                             ("w:instrText", {"xml:space": "preserve"}, " PAGE "),
                             ("w:fldChar", {"w:fldCharType": "separate"}, None)):
        el = OxmlElement(tag)
        for k, v in attrs.items():
            el.set(qn(k), v)
        if text:
            el.text = text
        r._r.append(el)
    run("1")
    end = run()
    el = OxmlElement("w:fldChar")
    el.set(qn("w:fldCharType"), "end")
    end._r.append(el)
    run(" —")


def _table(doc, data: BriefingData) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    t = data.table
    share = (t["status"] == STATUS_SUBSET).any()
    headers = list(TABLE_HEADERS)
    if share:
        headers[5] = "占全区目标"
    tbl = doc.add_table(rows=1, cols=len(headers))
    tbl.style = "Table Grid"
    tbl.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, h in zip(tbl.rows[0].cells, headers):
        cell.text = ""
        r = cell.paragraphs[0].add_run(h)
        _set_font(r, HEADING_FONT, TABLE_PT)
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for i, r in enumerate(t.itertuples(), 1):
        verdict = r.status in VERDICTS
        values = [
            str(i), r.name, r.measure, DASH if is_missing(r.value) else f"{int(r.value)}",
            DASH if is_missing(r.target) else f"{int(r.target)}", pct(r.completion_rate), pct(r.time_progress),
            f"{r.gap_pp:+.1f}" if verdict and not is_missing(r.gap_pp) else DASH, r.status,
        ]
        cells = tbl.add_row().cells
        for j, (cell, v) in enumerate(zip(cells, values)):
            cell.text = ""
            run = cell.paragraphs[0].add_run(v)
            _set_font(run, TABLE_FONT, TABLE_PT)
            if j != 1:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER


def build_docx(data: BriefingData, text: Narrative, images: list[tuple[str, bytes]]) -> bytes:
    """The Word document: A4, title, date line, the sections, the indicator table, key figures, images."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    # GB/T 9704 (党政机关公文格式) margins
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(37), Mm(35), Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    _set_font(normal, BODY_FONT, BODY_PT)
    normal.paragraph_format.line_spacing = 1.5
    for name in ("Heading 1", "Heading 2", "Title"):
        st = doc.styles[name]
        _set_font(st, HEADING_FONT if name != "Title" else TITLE_FONT, 22 if name == "Title" else 16, True)
        st.font.color.rgb = None
    doc.core_properties.title = text.title
    doc.core_properties.subject = text.subtitle
    doc.core_properties.author = "科技创新合作监测平台"
    _page_number_footer(sec)

    title = doc.add_paragraph(style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_font(title.add_run(text.title), TITLE_FONT, 22, True)
    sub = doc.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_font(sub.add_run(text.subtitle), BODY_FONT, BODY_PT)

    for s in text.sections:
        h = doc.add_heading(level=1)
        _set_font(h.add_run(s.heading), HEADING_FONT, 16, False)
        for para in s.paragraphs:
            p = doc.add_paragraph()
            p.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
            _set_font(p.add_run(para), BODY_FONT, BODY_PT)
    h = doc.add_heading(level=1)
    _set_font(h.add_run("六、指标进展表"), HEADING_FONT, 16, False)
    cap = doc.add_paragraph()
    _set_font(cap.add_run(f"{data.scope}，截至{date_zh(data.as_of)}；完成率 =（累计值 − 基期值）÷（目标值 − 基期值），"
                          "差距 = 完成率 − 时间进度。"), BODY_FONT, 11)
    _table(doc, data)
    h = doc.add_heading(level=1)
    _set_font(h.add_run("七、关键数据"), HEADING_FONT, 16, False)
    for k, v in text.key_figures:
        p = doc.add_paragraph()
        _set_font(p.add_run(f"{k}：{v}"), BODY_FONT, BODY_PT)
    h = doc.add_heading(level=1)
    _set_font(h.add_run("八、主要图表"), HEADING_FONT, 16, False)
    for i, (name, png) in enumerate(images, 1):
        doc.add_picture(io.BytesIO(png), width=Mm(156))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        cap = doc.add_paragraph()
        cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _set_font(cap.add_run(f"图{i}　{name.split('_', 1)[-1]}"), HEADING_FONT, 11)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def build_zip(images: list[tuple[str, bytes]], readme: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, png in images:
            z.writestr(f"{name}.png", png)
        z.writestr("说明.txt", readme)
    return buf.getvalue()


def build_pack(data: BriefingData, ref: Reference | None = None) -> Pack:
    """Text, figures rendered in one batch, the .docx and the .zip, for one as-of date and scope."""
    from .figures.images import render_batch

    ref = ref or load_reference()
    text = narrative(data, ref)
    figs = briefing_figures(data, ref)
    pngs = render_batch([f for _, f in figs], "png", scale=FIGURE_SCALE, width=FIGURE_WIDTH_PX, demo=data.is_demo)
    images = list(zip([n for n, _ in figs], pngs))
    stem = file_stem(data)
    readme = "\n".join([text.title, text.subtitle, f"生成时间：{datetime.now():%Y-%m-%d %H:%M}",
                        ("本压缩包中的图片使用演示数据，非真实报送。" if data.is_demo else ""),
                        *[f"{n}.png" for n, _ in images]]).strip() + "\n"
    return Pack(docx=build_docx(data, text, images), zip=build_zip(images, readme),
                docx_name=f"简报_{stem}.docx", zip_name=f"简报图表_{stem}.zip",
                figure_names=[n for n, _ in images])


def pack_for(db: str | Path, as_of: date, unit: str | None = None) -> Pack:
    from .admin import reference_for
    from .store import connect

    ref = reference_for(db)  # with the plan values changed on 系统管理 (the page has them already)
    with connect(db) as con:
        data = gather(con, as_of, unit, ref)
    return build_pack(data, ref)


# --------------------------------------------------------------------------
def write_pack(db_path, as_of: date, unit: str | None, out: Path) -> list[Path]:
    """Write the pack's .docx and .zip into folder ``out`` (made when missing); their paths."""
    pack = pack_for(db_path, as_of, unit)
    out.mkdir(parents=True, exist_ok=True)
    (out / pack.docx_name).write_bytes(pack.docx)
    (out / pack.zip_name).write_bytes(pack.zip)
    return [out / pack.docx_name, out / pack.zip_name]


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.briefing`` in-process: the same as ``python -m pipelines briefing``."""
    from .cli import run_command

    return run_command("briefing", argv, prog="python -m pipelines.briefing")
