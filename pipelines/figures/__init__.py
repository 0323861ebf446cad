"""DataFrames -> plotly figures, all in one template, split by the pages that show them.

- ``base``: the template, status colours, title/subtitle/source line, empty figures, image export
- ``progress``: 总览 (progress bars, the basis words)
- ``items``: 按领域 and 按国别 (sector bars and heatmaps, the world map, partner charts)
- ``region``: 按盟市 and 进度趋势 (unit map, ranking, unit x indicator heatmap, trend charts)
- ``reporting``: 报送情况 (the unit x period matrix, completeness and timeliness)

Pages import from here (``from pipelines.figures import sector_bars``); a new
figure goes in the module of the page family that shows it.
"""
from ..vocab import date_zh, pct  # noqa: F401  (formatters figures and pages share)
from .base import (  # noqa: F401
    FONT, FOOTER_LINE_PX, NO_DATA_COLOR, SEQUENCE, STATUS_COLORS, TEMPLATE, TIME_COLOR, empty_figure,
    export_image, finish, subtitle,
)
from .items import (  # noqa: F401
    CONTINENT_COLORS, FUNDING_UNIT, HEAT_SCALE, ITEM_UNIT, KIND_COLORS, KIND_LABELS, TYPE_PALETTE,
    WORLD_MAP_SCALE, clicked_codes, domestic_partners_bar, partner_groups_bar, partner_sector_heatmap,
    partner_top, partner_world_map, sector_bars, sector_growth, sector_unit_heatmap,
)
from .progress import basis_extra, progress_bars  # noqa: F401
from .region import (  # noqa: F401
    HEATMAP_MODES, INDICATOR_HEAT_SCALE, MAP_LABEL_COLOR, UNIT_MAP_SCALE, trend_chart, trend_small_multiples,
    unit_indicator_heatmap, unit_map, unit_ranking,
)
from .reporting import (  # noqa: F401
    RATE_COLORS, REPORTING_COLORS, REPORTING_TEXT_COLORS, WARNING_MARK_COLOR, reporting_matrix, reporting_rates,
)
