"""The open-alerts panel: one card per alert, severity shown by colour *and* by words."""

from __future__ import annotations

from dash import html

from anxin.dashboard import i18n
from anxin.dashboard.api_client import Alert
from anxin.dashboard.formatting import local_clock, local_time_of_day, measurement
from anxin.protocol import UNITS

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def most_urgent_first(alerts: list[Alert]) -> list[Alert]:
    """Critical before high before …; within a severity the newest first (the API's order)."""
    return sorted(alerts, key=lambda alert: SEVERITY_ORDER.get(alert.severity, len(SEVERITY_ORDER)))


def _reading(alert: Alert, language: str) -> list[html.Span]:
    """The reading against its threshold; an event alert (an SOS press) has none."""
    if alert.value is None or alert.threshold is None or alert.observation is None:
        return []
    unit = UNITS.get(alert.observation, "")
    text = i18n.text(
        "alerts.value",
        language,
        value=measurement(alert.value, unit, language),
        threshold=measurement(alert.threshold, unit, language),
    )
    return [html.Span(text, className="alert-value")]


def _evidence_window(alert: Alert, language: str) -> list[html.Span]:
    """When the evidence was gathered, for alerts without a single reading (AF, a fall)."""
    evidence = alert.evidence or {}
    start, end = evidence.get("window_start_ms"), evidence.get("window_end_ms")
    if alert.threshold is not None or not isinstance(start, int) or not isinstance(end, int):
        return []
    if end <= start:  # an instant, such as an SOS press: its time is the alert's own
        return []
    text = i18n.text(
        "alerts.evidence_window",
        language,
        start=local_time_of_day(start),
        end=local_time_of_day(end),
    )
    return [html.Span(text, className="alert-evidence")]


def alert_card(alert: Alert, language: str) -> html.Div:
    who = alert.person_name or i18n.text("alerts.unknown_person", language, device=alert.device_id)
    return html.Div(
        className=f"alert-card severity-{alert.severity}",
        **{"data-alert-id": str(alert.id), "data-person-id": alert.person_id or ""},
        children=[
            html.Div(
                className="alert-top",
                children=[
                    html.Span(
                        [
                            "⚠ ",
                            i18n.text(
                                "alerts.severity",
                                language,
                                severity=i18n.severity(alert.severity, language),
                            ),
                        ],
                        className="severity-badge",
                    ),
                    html.Span(i18n.alert_kind(alert.kind, language), className="alert-kind"),
                    html.Span(who, className="alert-person"),
                ],
            ),
            html.Div(
                className="alert-details",
                children=[
                    *_reading(alert, language),
                    *_evidence_window(alert, language),
                    html.Span(
                        i18n.text("alerts.raised_at", language, time=local_clock(alert.raised_at)),
                        className="alert-time",
                    ),
                    html.Span(i18n.text("alerts.occurrences", language, count=alert.occurrences)),
                    html.Span(
                        i18n.text(
                            "alerts.status",
                            language,
                            status=i18n.alert_status(alert.status, language),
                        )
                    ),
                ],
            ),
        ],
    )


def alerts_panel(alerts: list[Alert], language: str) -> list[html.Div | html.P]:
    if not alerts:
        return [html.P(i18n.text("alerts.none", language), className="alerts-none")]
    return [
        html.P(i18n.text("alerts.count", language, count=len(alerts)), className="alerts-count"),
        *(alert_card(alert, language) for alert in most_urgent_first(alerts)),
    ]
