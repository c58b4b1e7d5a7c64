"""Recipient cards: who they are, their latest vitals, open alerts and device states.

Each card is a button; clicking it shows that person's charts.
"""

from __future__ import annotations

from dash import html

from anxin.dashboard import i18n, ids
from anxin.dashboard.api_client import Person
from anxin.dashboard.formatting import measurement


def default_person(persons: list[Person]) -> Person | None:
    """The first recipient with an open alert, else the first recipient."""
    return next((p for p in persons if p.open_alerts), persons[0] if persons else None)


def _vital(person: Person, kind: str, label_key: str, language: str) -> html.Span:
    reading = person.latest.get(kind)
    shown = (
        measurement(reading.value, reading.unit, language)
        if reading
        else i18n.text("recipients.no_reading", language)
    )
    return html.Span(
        [html.Span(i18n.text(label_key, language), className="vital-label"), html.Strong(shown)],
        className=f"vital vital-{kind}",
    )


def _devices(person: Person, language: str) -> html.Div:
    items = [
        html.Li(
            i18n.text(
                "recipients.device",
                language,
                kind=i18n.device_kind(d.kind, language),
                state=i18n.device_state(d.state, language),
            ),
            className=f"device device-{d.state}",
        )
        for d in person.devices
    ]
    return html.Div(
        [
            html.Span(i18n.text("recipients.devices", language), className="devices-label"),
            html.Ul(items),
        ],
        className="devices",
    )


def recipient_card(person: Person, selected: bool, language: str) -> html.Button:
    name_parts = [html.Span(person.name, className="person-name")]
    if language == "en" and person.name_latin:
        name_parts.append(html.Span(person.name_latin, className="person-latin"))
    if person.open_alerts:
        name_parts.append(
            html.Span(
                "⚠ " + i18n.text("recipients.open_alerts", language, count=person.open_alerts),
                className="open-alerts-badge",
            )
        )
    facts = " · ".join(
        (
            i18n.sex(person.sex, language),
            i18n.text("recipients.age", language, age=person.age),
            person.community,
        )
    )
    children = [
        html.Span(name_parts, className="card-title"),
        html.Span(facts, className="person-facts"),
        html.Span(
            [
                _vital(person, "heart_rate", "recipients.heart_rate", language),
                _vital(person, "spo2", "recipients.spo2", language),
            ],
            className="vitals",
        ),
        _devices(person, language),
    ]
    if selected:
        children.insert(
            0, html.Span(i18n.text("recipients.selected", language), className="selected-tag")
        )
    classes = ["recipient-card"]
    if selected:
        classes.append("selected")
    if person.open_alerts:
        classes.append("has-alert")
    return html.Button(
        children,
        id={"type": ids.RECIPIENT_CARD, "index": person.id},
        className=" ".join(classes),
        title=i18n.text("recipients.view", language),
        n_clicks=0,
        **{"aria-pressed": "true" if selected else "false", "data-person-id": person.id},
    )


def recipients_list(
    persons: list[Person], selected_id: str | None, language: str
) -> list[html.Button | html.P]:
    if not persons:
        return [html.P(i18n.text("recipients.none", language), className="recipients-none")]
    return [recipient_card(p, p.id == selected_id, language) for p in persons]
