"""Build data/partners.csv: foreign countries from pycountry, China's regions by hand.

One-time build: data/partners.csv is the source of truth the app reads; this
script records how it was made. Foreign rows start from pycountry's ISO 3166-1
list and its zh_CN translations, then the CORRECTIONS below turn them into the
usual short names of Chinese government documents and add accepted spellings.
Domestic rows (ISO 3166-2:CN) are written out in full in DOMESTIC.

Every spelling (code, name_zh, name_en, alias) must point to exactly one row,
compared the way the app compares them (NFKC, no white space, lower case);
the build stops if two rows share one.

The output depends on the installed pycountry release (26.2.16 when the CSV
was made); a different release may change names and fail --check.

Example:
    python scripts/build_partners.py          # write data/partners.csv
    python scripts/build_partners.py --check  # exit 1 if the file differs
"""
from __future__ import annotations

import argparse
import csv
import gettext
import io
import re
import sys
import unicodedata
from pathlib import Path

import pycountry

OUT = Path(__file__).resolve().parent.parent / "data" / "partners.csv"
COLUMNS = ["code", "kind", "name_zh", "name_en", "aliases", "continent", "groups"]

# ============================================================================
# CORRECTIONS (foreign rows)
# ============================================================================

# Never foreign: China itself, and its regions (domestic rows below).
EXCLUDED = {"CHN", "HKG", "MAC", "TWN"}

# Misspellings in pycountry's zh_CN catalogue, fixed in every string taken from it.
ZH_TYPOS = {"柬埔塞": "柬埔寨", "瓜地马拉": "危地马拉", "马尔他": "马耳他",
            "玻利尼西亚": "波利尼西亚", "桑德韦奇": "桑威奇"}

# Usual Chinese short name where pycountry's differs (its name becomes an alias).
NAME_ZH = {
    "BES": "荷兰加勒比区", "BGD": "孟加拉国", "BLM": "圣巴泰勒米", "BOL": "玻利维亚",
    "CAF": "中非", "CCK": "科科斯（基林）群岛", "COD": "刚果（金）", "COG": "刚果（布）",
    "DOM": "多米尼加", "FLK": "马尔维纳斯群岛", "IMN": "马恩岛", "IRN": "伊朗",
    "KGZ": "吉尔吉斯斯坦", "KOR": "韩国", "LAO": "老挝", "MDA": "摩尔多瓦",
    "MNG": "蒙古国", "PRK": "朝鲜", "SHN": "圣赫勒拿", "SYR": "叙利亚",
    "TZA": "坦桑尼亚", "VEN": "委内瑞拉", "ATF": "法属南部领地",
}

# Common English short name where pycountry's common_name/name is not it.
NAME_EN = {
    "BOL": "Bolivia", "BRN": "Brunei", "COD": "DR Congo", "COG": "Republic of the Congo",
    "CPV": "Cape Verde", "FLK": "Falkland Islands", "FSM": "Micronesia", "GBR": "United Kingdom",
    "IRN": "Iran", "KOR": "South Korea", "LAO": "Laos", "MAF": "Saint Martin",
    "MDA": "Moldova", "PRK": "North Korea", "PSE": "Palestine", "RUS": "Russia",
    "SHN": "Saint Helena", "SXM": "Sint Maarten", "SYR": "Syria", "TUR": "Turkey",
    "TZA": "Tanzania", "USA": "United States", "VAT": "Vatican City", "VEN": "Venezuela",
    "VGB": "British Virgin Islands", "VIR": "U.S. Virgin Islands", "VNM": "Vietnam",
}

# Further accepted spellings (one-character forms only where unambiguous here).
EXTRA_ALIASES = {
    "ARE": "阿拉伯联合酋长国|UAE",
    "AUS": "澳洲|澳大利亚联邦",
    "BLR": "白俄",
    "BOL": "玻利维亚多民族国",
    "COD": "刚果民主共和国|Democratic Republic of the Congo|DRC|Congo-Kinshasa",
    "COG": "刚果共和国|Congo-Brazzaville",
    "CIV": "象牙海岸|Ivory Coast",
    "CZE": "捷克共和国",
    "DEU": "德",
    "FLK": "福克兰群岛|Malvinas",
    "FRA": "法",
    "GBR": "英|UK|U.K.|Britain|Great Britain",
    "ISR": "以",
    "ITA": "意",
    "JPN": "日|日本国",
    "KOR": "韩|南韩|Korea|Republic of Korea|ROK",
    "MKD": "马其顿",
    "MMR": "Burma",
    "MNG": "蒙",
    "NLD": "荷|Holland|The Netherlands",
    "PRK": "北朝鲜|DPRK",
    "RUS": "俄|俄罗斯联邦",
    "SAU": "沙特",
    "SWZ": "埃斯瓦蒂尼|Swaziland",
    "TLS": "East Timor",
    "TUR": "Türkiye",
    "USA": "美|USA|U.S.|U.S.A.",
    "VAT": "教廷|Vatican",
}

# Spellings that would otherwise be generated but are ambiguous or misleading:
# 刚果/Congo (Brazzaville or Kinshasa?), NA (Namibia, or "not available"?), and
# names containing 、 (the separator users put between several partners).
DROP_ALIASES = {"COG": {"刚果", "Congo"}, "NAM": {"NA"}, "BES": {"博奈尔、圣尤斯特歇斯岛和萨巴"}}

CONTINENTS = {
    "亚洲": """AFG ARE ARM AZE BGD BHR BRN BTN CYP GEO IDN IND IRN IRQ ISR JOR JPN KAZ KGZ
        KHM KOR KWT LAO LBN LKA MDV MMR MNG MYS NPL OMN PAK PHL PRK PSE QAT SAU SGP SYR
        THA TJK TKM TLS TUR UZB VNM YEM""",
    "欧洲": """ALA ALB AND AUT BEL BGR BIH BLR CHE CZE DEU DNK ESP EST FIN FRA FRO GBR GGY
        GIB GRC HRV HUN IMN IRL ISL ITA JEY LIE LTU LUX LVA MCO MDA MKD MLT MNE NLD NOR
        POL PRT ROU RUS SJM SMR SRB SVK SVN SWE UKR VAT""",
    "非洲": """AGO ATF BDI BEN BFA BWA CAF CIV CMR COD COG COM CPV DJI DZA EGY ERI ESH ETH
        GAB GHA GIN GMB GNB GNQ IOT KEN LBR LBY LSO MAR MDG MLI MOZ MRT MUS MWI MYT NAM
        NER NGA REU RWA SDN SEN SHN SLE SOM SSD STP SWZ SYC TCD TGO TUN TZA UGA ZAF ZMB
        ZWE""",
    "北美洲": """ABW AIA ATG BES BHS BLM BLZ BMU BRB CAN CRI CUB CUW CYM DMA DOM GLP GRD GRL
        GTM HND HTI JAM KNA LCA MAF MEX MSR MTQ NIC PAN PRI SLV SPM SXM TCA TTO USA VCT
        VGB VIR""",
    "南美洲": "ARG BOL BRA BVT CHL COL ECU FLK GUF GUY PER PRY SGS SUR URY VEN",
    "大洋洲": """ASM ATA AUS CCK COK CXR FJI FSM GUM HMD KIR MHL MNP NCL NFK NIU NRU NZL PCN
        PLW PNG PYF SLB TKL TON TUV UMI VUT WLF WSM""",
}

# Plan groupings (实施方案 三(二)); 非洲 and 大洋洲 take every row of that continent.
# 欧美日等发达国家: OECD members except ISR (own group) and the middle-income or
# Latin American/Turkish members (CHL, COL, CRI, MEX, TUR).
FOREIGN_GROUPS = {
    "中俄蒙经济走廊": "RUS MNG",
    "欧美日等发达国家": """AUT BEL CZE DNK EST FIN FRA DEU GRC HUN ISL IRL ITA LVA LTU LUX
        NLD NOR POL PRT SVK SVN ESP SWE CHE GBR USA CAN JPN KOR AUS NZL""",
    "东北亚": "JPN KOR PRK MNG RUS",
    "东南亚": "BRN KHM IDN LAO MYS MMR PHL SGP THA VNM TLS",
    "非洲": None,
    "大洋洲": None,
    "北美洲": "USA CAN MEX",
    "以色列": "ISR",
}

# ============================================================================
# DOMESTIC rows (ISO 3166-2:CN): code, name_zh, name_en, aliases
# ============================================================================

DOMESTIC = [
    ("CN-AH", "安徽", "Anhui", "安徽省|皖"),
    ("CN-BJ", "北京", "Beijing", "北京市|京"),
    ("CN-CQ", "重庆", "Chongqing", "重庆市|渝"),
    ("CN-FJ", "福建", "Fujian", "福建省|闽"),
    ("CN-GD", "广东", "Guangdong", "广东省|粤"),
    ("CN-GS", "甘肃", "Gansu", "甘肃省|甘|陇"),
    ("CN-GX", "广西", "Guangxi", "广西壮族自治区|桂"),
    ("CN-GZ", "贵州", "Guizhou", "贵州省|黔|贵"),
    ("CN-HA", "河南", "Henan", "河南省|豫"),
    ("CN-HB", "湖北", "Hubei", "湖北省|鄂"),
    ("CN-HE", "河北", "Hebei", "河北省|冀"),
    ("CN-HI", "海南", "Hainan", "海南省|琼"),
    ("CN-HK", "中国香港", "Hong Kong, China",
     "香港|香港特别行政区|中国香港特别行政区|香港特区|港|Hong Kong|"
     "Hong Kong Special Administrative Region of China|HKG|HK"),
    ("CN-HL", "黑龙江", "Heilongjiang", "黑龙江省|黑"),
    ("CN-HN", "湖南", "Hunan", "湖南省|湘"),
    ("CN-JL", "吉林", "Jilin", "吉林省|吉"),
    ("CN-JS", "江苏", "Jiangsu", "江苏省|苏"),
    ("CN-JX", "江西", "Jiangxi", "江西省|赣"),
    ("CN-LN", "辽宁", "Liaoning", "辽宁省|辽"),
    ("CN-MO", "中国澳门", "Macao, China",
     "澳门|澳门特别行政区|中国澳门特别行政区|澳门特区|Macao|Macau|"
     "Macao Special Administrative Region of China|MAC|MO"),
    ("CN-NM", "内蒙古", "Inner Mongolia", "内蒙古自治区|内蒙|Nei Mongol"),
    ("CN-NX", "宁夏", "Ningxia", "宁夏回族自治区|宁"),
    ("CN-QH", "青海", "Qinghai", "青海省|青"),
    ("CN-SC", "四川", "Sichuan", "四川省|川|蜀"),
    ("CN-SD", "山东", "Shandong", "山东省|鲁"),
    ("CN-SH", "上海", "Shanghai", "上海市|沪"),
    ("CN-SN", "陕西", "Shaanxi", "陕西省|陕|秦"),
    ("CN-SX", "山西", "Shanxi", "山西省|晋"),
    ("CN-TJ", "天津", "Tianjin", "天津市|津"),
    ("CN-TW", "中国台湾", "Taiwan, China",
     "台湾|台湾省|中国台湾省|台湾地区|台|Taiwan|Taiwan, Province of China|TWN|TW"),
    ("CN-XJ", "新疆", "Xinjiang", "新疆维吾尔自治区"),
    ("CN-XZ", "西藏", "Tibet", "西藏自治区|藏|Xizang"),
    ("CN-YN", "云南", "Yunnan", "云南省|滇|云"),
    ("CN-ZJ", "浙江", "Zhejiang", "浙江省|浙"),
]
# Deliberately absent: 蒙 (Mongolia), 新 (新加坡/新西兰), 澳 (澳大利亚), 中国/China/CHN.

DOMESTIC_GROUPS = {
    "港澳台": "CN-HK CN-MO CN-TW",
    "京津冀": "CN-BJ CN-TJ CN-HE",
    "长江经济带": "CN-SH CN-JS CN-ZJ CN-AH CN-JX CN-HB CN-HN CN-CQ CN-SC CN-GZ CN-YN",
    "东三省": "CN-LN CN-JL CN-HL",
    "沪苏浙": "CN-SH CN-JS CN-ZJ",
    "广东": "CN-GD",
}

# ============================================================================
# Build
# ============================================================================

_SPACES = re.compile(r"\s+")


def norm_key(text: str) -> str:
    """As the app compares spellings: NFKC, no white space, lower case."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).lower()


def _fix_zh(s: str) -> str:
    for bad, good in ZH_TYPOS.items():
        s = s.replace(bad, good)
    return s


def _clean_aliases(names: list[str], *own: str, drop: set[str] = frozenset()) -> str:
    seen = {norm_key(x) for x in own}
    dropped = {norm_key(x) for x in drop}
    out = []
    for a in names:
        k = norm_key(a)
        if a and k not in seen and k not in dropped:
            seen.add(k)
            out.append(a.strip())
    return "|".join(out)


def _group_map(groups: dict[str, str | None]) -> dict[str, list[str]]:
    by_code: dict[str, list[str]] = {}
    for g, codes in groups.items():
        for c in (codes or "").split():
            by_code.setdefault(c, []).append(g)
    return by_code


def foreign_rows() -> list[dict[str, str]]:
    zh = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    continent = {c: name for name, codes in CONTINENTS.items() for c in codes.split()}
    groups = _group_map(FOREIGN_GROUPS)
    rows = []
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_3):
        code = c.alpha_3
        if code in EXCLUDED:
            continue
        official = getattr(c, "official_name", "")
        common = getattr(c, "common_name", "")
        py_zh = _fix_zh(zh.gettext(c.name))
        official_zh = _fix_zh(zh.gettext(official)) if official else ""
        if official_zh == official:  # untranslated
            official_zh = ""
        name_zh = NAME_ZH.get(code, py_zh)
        name_en = NAME_EN.get(code, common or c.name)
        extra = [a for a in EXTRA_ALIASES.get(code, "").split("|") if a]
        extra_zh = [a for a in extra if not a.isascii()]
        extra_en = [a for a in extra if a.isascii()]
        aliases = _clean_aliases([py_zh, official_zh, *extra_zh, c.name, official, common,
                                  *extra_en, c.alpha_2],
                                 code, name_zh, name_en, drop=DROP_ALIASES.get(code, set()))
        cont = continent[code]
        gs = list(groups.get(code, []))
        gs += [g for g in ("非洲", "大洋洲") if cont == g]
        gs.sort(key=list(FOREIGN_GROUPS).index)
        rows.append(dict(code=code, kind="foreign", name_zh=name_zh, name_en=name_en,
                         aliases=aliases, continent=cont, groups="|".join(gs)))
    extra_codes = set(continent) - {r["code"] for r in rows}
    if extra_codes or len(continent) != sum(len(v.split()) for v in CONTINENTS.values()):
        sys.exit(f"CONTINENTS lists unknown or repeated codes: {sorted(extra_codes)}")
    return rows


def domestic_rows() -> list[dict[str, str]]:
    iso = {s.code for s in pycountry.subdivisions.get(country_code="CN")}
    ours = {d[0] for d in DOMESTIC}
    if iso != ours:
        sys.exit(f"DOMESTIC differs from ISO 3166-2:CN: {sorted(iso ^ ours)}")
    groups = _group_map(DOMESTIC_GROUPS)
    rows = []
    for code, name_zh, name_en, aliases in sorted(DOMESTIC):
        rows.append(dict(code=code, kind="domestic", name_zh=name_zh, name_en=name_en,
                         aliases=_clean_aliases(aliases.split("|"), code, name_zh, name_en),
                         continent="亚洲", groups="|".join(groups.get(code, []))))
    return rows


def check_unique(rows: list[dict[str, str]]) -> None:
    owner: dict[str, str] = {}
    clashes = []
    for r in rows:
        spellings = [r["code"], r["name_zh"], r["name_en"], *r["aliases"].split("|")]
        for s in {norm_key(s) for s in spellings if s}:
            if s in owner and owner[s] != r["code"]:
                clashes.append(f"{s!r}: {owner[s]} and {r['code']}")
            owner.setdefault(s, r["code"])
    for banned in ("中国", "china", "chn", "中华人民共和国", "cn"):
        if banned in owner:
            clashes.append(f"{banned!r} must not name a partner ({owner[banned]})")
    if clashes:
        sys.exit("ambiguous spellings:\n  " + "\n  ".join(clashes))


def render() -> str:
    rows = foreign_rows() + domestic_rows()
    check_unique(rows)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true",
                   help="compare with the committed file instead of writing it")
    p.add_argument("--out", type=Path, default=OUT, help="file to write or check")
    args = p.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if current != text:
            print(f"Error: {args.out} is not what scripts/build_partners.py builds",
                  file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({text.count(chr(10)) - 1} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
