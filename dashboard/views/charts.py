"""Plotly figures for one recipient's heart rate and SpO2 over the last minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import plotly.graph_objects as go

from anxin.dashboard import i18n
from anxin.dashboard.api_client import ObservationSeries
from anxin.dashboard.formatting import local_time

WINDOW = timedelta(minutes=10)
FONT_FAMILY = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
)
THRESHOLD_COLOUR = "#b3261e"


@dataclass(frozen=True)
class ChartSpec:
    title_key: str
    threshold: float
    y_floor: float  # the axis never starts above this, so a normal reading is not drawn as dramatic
    y_ceiling: float
    line_colour: str
    alarm_above: bool  # True: readings above the threshold are alarming; False: below it

    def is_alarming(self, value: float) -> bool:
        return value > self.threshold if self.alarm_above else value < self.threshold


HEART_RATE = ChartSpec(
    "charts.heart_rate", 120, y_floor=40, y_ceiling=140, line_colour="#0b4f9c", alarm_above=True
)
SPO2 = ChartSpec(
    "charts.spo2", 90, y_floor=85, y_ceiling=100, line_colour="#0a6b4f", alarm_above=False
)
SPECS = {"heart_rate": HEART_RATE, "spo2": SPO2}


def vital_figure(
    series: ObservationSeries | None, spec: ChartSpec, now_ms: int, language: str
) -> go.Figure:
    end = local_time(now_ms)
    start = end - WINDOW
    points = series.observations if series else ()
    times: list[datetime] = [local_time(o.ts_ms) for o in points]
    values = [o.value for o in points]
    y_low = min([spec.y_floor, *values]) - 5
    y_high = max([spec.y_ceiling, *values]) + 5

    figure = go.Figure(
        go.Scatter(
            x=times,
            y=values,
            mode="lines+markers",
            line={"color": spec.line_colour, "width": 3},
            # readings past the alert line stand out by size as well as colour
            marker={
                "size": [11 if spec.is_alarming(v) else 7 for v in values],
                "opacity": 1,
                "color": [
                    THRESHOLD_COLOUR if spec.is_alarming(v) else spec.line_colour for v in values
                ],
            },
            name=i18n.text(spec.title_key, language),
            hovertemplate="%{x|%H:%M:%S}  %{y}<extra></extra>",
        )
    )
    figure.add_hline(
        y=spec.threshold,
        line={"color": THRESHOLD_COLOUR, "width": 2, "dash": "dash"},
        annotation_text=i18n.text("charts.threshold", language, value=f"{spec.threshold:g}"),
        annotation_position="top left",
        annotation_font={"color": THRESHOLD_COLOUR, "size": 18},
    )
    if not points:
        figure.add_annotation(
            text=i18n.text("charts.no_data", language),
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"size": 20, "color": "#333333"},
        )
    figure.update_layout(
        title={
            "text": i18n.text(spec.title_key, language),
            "font": {"size": 22, "color": "#111111"},
        },
        font={"family": FONT_FAMILY, "size": 18, "color": "#111111"},
        template="plotly_white",
        height=300,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        showlegend=False,
        # keeps a user's zoom across the periodic refreshes, and resets it for another person
        uirevision=series.person_id if series else None,
        xaxis={
            "range": [start, end],
            "title": {"text": i18n.text("charts.time", language)},
            "tickformat": "%H:%M",
        },
        yaxis={"range": [y_low, y_high], "gridcolor": "#d0d0d0"},
    )
    return figure
