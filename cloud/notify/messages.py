"""The words of a notification: Chinese first, English for recipients who chose it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from anxin.cloud.notify.preferences import zone
from anxin.dashboard import i18n


@dataclass(frozen=True)
class AlertFacts:
    """What a message says about the alert, read when it is sent (so the status is current)."""

    alert_id: int
    person_id: str | None
    person_name: str | None
    person_name_latin: str | None
    device_id: str
    kind: str
    severity: str
    status: str
    raised_at_ms: int
    occurrences: int
    value: float | None
    threshold: float | None


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    language: str


_ESCALATION_NOTE = {
    2: {
        "zh": "此警报尚未有人确认，已升级通知社区工作者。",
        "en": "Nobody has acknowledged this alert yet: it was passed on to the community worker.",
    },
    3: {
        "zh": "此警报仍未有人确认，已升级通知主管。",
        "en": "This alert is still unacknowledged: it was passed on to the supervisor.",
    },
}


def render(facts: AlertFacts, language: str | None, timezone: str | None, level: int) -> Message:
    lang = "en" if language == "en" else "zh"
    tz = zone(timezone)
    when = datetime.fromtimestamp(facts.raised_at_ms / 1000, tz).strftime("%Y-%m-%d %H:%M")
    kind = i18n.alert_kind(facts.kind, lang)
    severity = i18n.severity(facts.severity, lang)
    status = i18n.alert_status(facts.status, lang)
    note = _ESCALATION_NOTE.get(level, {}).get(lang)
    if lang == "zh":
        who = facts.person_name or f"未关联的设备 {facts.device_id}"
        subject = f"【安心】{severity}警报：{who} {kind}"
        lines = [
            f"{who}：{kind}",
            f"严重程度：{severity}",
            f"发生时间：{when}（{tz.key}）",
            f"当前状态：{status}",
        ]
        if facts.value is not None:
            reading = f"读数：{facts.value:g}"
            if facts.threshold is not None:
                reading += f"（警戒值 {facts.threshold:g}）"
            lines.append(reading)
        if facts.occurrences > 1:
            lines.append(f"已出现 {facts.occurrences} 次")
        if note:
            lines.append(note)
        lines.append(f"请登录安心照护台查看并确认（警报编号 {facts.alert_id}）。")
    else:
        who = facts.person_name_latin or facts.person_name or f"unassigned device {facts.device_id}"
        subject = f"[Anxin] {severity} alert: {who} – {kind}"
        lines = [
            f"{who}: {kind}",
            f"Severity: {severity}",
            f"Raised: {when} ({tz.key})",
            f"Status: {status}",
        ]
        if facts.value is not None:
            reading = f"Reading: {facts.value:g}"
            if facts.threshold is not None:
                reading += f" (alert line {facts.threshold:g})"
            lines.append(reading)
        if facts.occurrences > 1:
            lines.append(f"Occurred {facts.occurrences} times")
        if note:
            lines.append(note)
        lines.append(
            f"Please open the Anxin console to review and acknowledge it (alert {facts.alert_id})."
        )
    return Message(subject=subject, body="\n".join(lines) + "\n", language=lang)
