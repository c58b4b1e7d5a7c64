"""The console's strings: complete in both languages, and the API's codes translated."""

from __future__ import annotations

import string

import pytest

from anxin.config import default_thresholds
from anxin.dashboard import i18n


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(i18n.TEXTS))
def test_every_key_is_translated_into_both_languages(key: str) -> None:
    entry = i18n.TEXTS[key]
    assert set(entry) == set(i18n.LANGUAGES)
    assert all(text.strip() for text in entry.values()), f"{key} has an empty translation"


@pytest.mark.parametrize("key", sorted(i18n.TEXTS))
def test_both_languages_take_the_same_fields(key: str) -> None:
    zh, en = i18n.TEXTS[key]["zh"], i18n.TEXTS[key]["en"]
    assert fields(zh) == fields(en)


def test_chinese_is_the_default_and_unknown_languages_fall_back_to_it() -> None:
    assert i18n.DEFAULT_LANGUAGE == "zh"
    assert i18n.text("login.submit", None) == "登录"
    assert i18n.text("login.submit", "fr") == "登录"
    assert i18n.text("login.submit", "en") == "Log in"


def test_alert_kinds_the_gateway_raises_are_translated() -> None:
    for threshold in default_thresholds():
        assert i18n.alert_kind(threshold.kind, "zh") != threshold.kind
        assert i18n.alert_kind(threshold.kind, "en") != threshold.kind
    assert i18n.alert_kind("heart_rate_high", "zh") == "心率过高"
    assert i18n.alert_kind("heart_rate_high", "en") == "Heart rate high"
    assert i18n.alert_kind("spo2_low", "zh") == "血氧过低"


@pytest.mark.parametrize(
    ("level", "zh", "en"),
    [
        ("low", "低", "Low"),
        ("medium", "中", "Medium"),
        ("high", "高", "High"),
        ("critical", "危急", "Critical"),
    ],
)
def test_every_severity_is_translated(level: str, zh: str, en: str) -> None:
    assert i18n.severity(level, "zh") == zh
    assert i18n.severity(level, "en") == en


def test_an_unknown_code_is_shown_as_sent_rather_than_hidden() -> None:
    assert i18n.alert_kind("bed_exit_at_night", "zh") == "bed_exit_at_night"
    assert i18n.device_state("charging", "en") == "charging"


def test_units_read_naturally() -> None:
    assert i18n.unit("/min", "zh") == "次/分"
    assert i18n.unit("/min", "en") == "bpm"
    assert i18n.unit("%", "zh") == "%"


def test_text_fills_in_fields() -> None:
    assert i18n.text("alerts.occurrences", "zh", count=3) == "出现 3 次"
    with pytest.raises(KeyError):
        i18n.text("no.such.key", "zh")
