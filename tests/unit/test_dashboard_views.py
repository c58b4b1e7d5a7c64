"""Views, charts and formatting: API data in, components and figures out (no server)."""

from __future__ import annotations

from typing import Any

from dash import html

from anxin.dashboard.api_client import (
    Alert,
    DeviceSummary,
    Observation,
    ObservationSeries,
    Person,
    Reading,
)
from anxin.dashboard.callbacks.overview import chart_person
from anxin.dashboard.formatting import local_clock, measurement, number
from anxin.dashboard.views.alerts import alerts_panel, most_urgent_first
from anxin.dashboard.views.charts import HEART_RATE, SPO2, vital_figure
from anxin.dashboard.views.recipients import default_person, recipients_list


def person(pid: str, name: str, open_alerts: int = 0) -> Person:
    return Person(
        id=pid,
        name=name,
        name_latin="Zhang Xiuying",
        sex="F",
        age=84,
        community="幸福里社区",
        site_id="home-1",
        latest={"heart_rate": Reading(72.0, "/min", "2024-05-01T06:00:00.000Z")},
        open_alerts=open_alerts,
        devices=(DeviceSummary("hr-1", "heart_rate_strap", "connected"),),
    )


def alert(aid: int, severity: str, kind: str = "heart_rate_high") -> Alert:
    return Alert(
        id=aid,
        person_id="p0001",
        person_name="张秀英",
        device_id="hr-1",
        kind=kind,
        severity=severity,
        status="open",
        raised_at="2024-05-01T06:03:09.120Z",
        last_raised_at="2024-05-01T06:03:09.120Z",
        occurrences=2,
        observation="heart_rate",
        value=131.0,
        threshold=120.0,
        message="",
    )


def all_text(component: Any) -> str:
    """Every string inside a component tree, joined."""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(all_text(c) for c in component)
    children = getattr(component, "children", None)
    return all_text(children) if children is not None else ""


def test_local_clock_is_china_standard_time() -> None:
    assert local_clock("2024-05-01T06:03:09.120Z") == "2024-05-01 14:03:09"
    assert local_clock("2024-12-31T20:00:00Z") == "2025-01-01 04:00:00"


def test_numbers_and_units() -> None:
    assert number(72.0) == "72"
    assert number(97.4) == "97.4"
    assert measurement(72, "/min", "zh") == "72 次/分"
    assert measurement(97, "%", "en") == "97%"


def test_alert_card_states_severity_in_words_and_local_time() -> None:
    text = all_text(alerts_panel([alert(1, "high")], "zh"))
    assert "心率过高" in text
    assert "严重程度:高" in text
    assert "张秀英" in text
    assert "131 次/分" in text and "120 次/分" in text
    assert "14:03:09" in text
    assert "出现 2 次" in text


def test_an_alert_without_a_single_reading_says_when_its_evidence_was_gathered() -> None:
    af = Alert(
        **{
            **alert(1, "high", "atrial_fibrillation").__dict__,
            "observation": None,
            "value": None,
            "threshold": None,
            # 06:01:10 to 06:03:09 UTC: 144 beats of irregular rhythm
            "evidence": {"window_start_ms": 1714543270000, "window_end_ms": 1714543389000},
        }
    )
    assert "依据时段 14:01:10–14:03:09" in all_text(alerts_panel([af], "zh"))
    assert "Evidence 14:01:10–14:03:09" in all_text(alerts_panel([af], "en"))
    assert "疑似房颤" in all_text(alerts_panel([af], "zh"))
    # A threshold alert shows its reading instead.
    assert "依据时段" not in all_text(alerts_panel([alert(2, "high")], "zh"))
    # An instant (an SOS press) has no window beyond the time the alert already shows.
    sos = Alert(
        **{
            **af.__dict__,
            "kind": "sos",
            "evidence": {"window_start_ms": 1714543389000, "window_end_ms": 1714543389000},
        }
    )
    assert "依据时段" not in all_text(alerts_panel([sos], "zh"))


def test_alerts_sort_by_severity_keeping_newest_first_within_one() -> None:
    ordered = most_urgent_first(
        [alert(1, "low"), alert(2, "critical"), alert(3, "high"), alert(4, "critical")]
    )
    assert [a.id for a in ordered] == [2, 4, 3, 1]


def test_no_alerts_says_so() -> None:
    assert "没有待处理的警报" in all_text(alerts_panel([], "zh"))
    assert "No open alerts" in all_text(alerts_panel([], "en"))


def test_default_person_is_the_first_with_an_alert() -> None:
    people = [
        person("p1", "甲"),
        person("p2", "乙", open_alerts=1),
        person("p3", "丙", open_alerts=2),
    ]
    assert default_person(people).id == "p2"  # type: ignore[union-attr]
    assert default_person([person("p1", "甲")]).id == "p1"  # type: ignore[union-attr]
    assert default_person([]) is None


def test_chart_person_keeps_a_choice_only_while_it_is_visible() -> None:
    people = [person("p1", "甲"), person("p2", "乙", open_alerts=1)]
    assert chart_person(people, "p1")["id"] == "p1"  # type: ignore[index]
    assert chart_person(people, "gone")["id"] == "p2"  # type: ignore[index]
    assert chart_person([], "p1") is None


def test_recipient_card_shows_vitals_devices_and_selection() -> None:
    (card,) = recipients_list([person("p0001", "张秀英", open_alerts=1)], "p0001", "zh")
    assert isinstance(card, html.Button)
    assert card.id == {"type": "recipient-card", "index": "p0001"}
    text = all_text(card)
    for expected in (
        "张秀英",
        "女",
        "84 岁",
        "幸福里社区",
        "72 次/分",
        "暂无数据",
        "待处理警报:1",
        "心率带:已连接",
    ):
        assert expected in text
    assert "正在查看" in text
    english = all_text(recipients_list([person("p0001", "张秀英")], None, "en"))
    assert "Zhang Xiuying" in english and "72 bpm" in english and "Viewing" not in english


def series(values: list[float], kind: str = "heart_rate") -> ObservationSeries:
    start = 1_714_543_200_000
    points = tuple(Observation(start + i * 1000, v, "hr-1") for i, v in enumerate(values))
    return ObservationSeries("p0001", kind, "/min", points)


def test_heart_rate_chart_plots_points_and_the_alert_line() -> None:
    figure = vital_figure(series([70, 80, 130]), HEART_RATE, 1_714_543_205_000, "zh")
    trace = figure.data[0]
    assert list(trace.y) == [70, 80, 130]
    assert trace.marker.color[2] != trace.marker.color[0]  # the alarming reading stands out
    lines = [s for s in figure.layout.shapes if s.y0 == s.y1]
    assert [line.y0 for line in lines] == [120]
    assert "警戒线 120" in [a.text for a in figure.layout.annotations]
    assert figure.layout.title.text == "心率(次/分)"


def test_spo2_chart_alerts_below_its_line_and_says_when_empty() -> None:
    assert SPO2.is_alarming(88) and not SPO2.is_alarming(95)
    figure = vital_figure(None, SPO2, 1_714_543_205_000, "en")
    assert len(figure.data[0].y or ()) == 0
    texts = [a.text for a in figure.layout.annotations]
    assert "No data in the last 10 minutes" in texts and "Alert line 90" in texts
