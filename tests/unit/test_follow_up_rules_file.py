from pathlib import Path

import pytest

from anxin.cloud.care.follow_up_rules import DEFAULT_RULES_FILE, RulesError, load_rules
from anxin.config import CloudConfig, ConfigError, load_config

GOOD_RULE = """
[[rules]]
id = "falls"
title_zh = "跌倒"
title_en = "Falls"
action = "ltc_assessment_referral"
[[rules.when]]
type = "alert_count"
kinds = ["fall"]
at_least = 2
days = 90
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_rules() -> None:
    rules = load_rules()
    assert rules.source == str(DEFAULT_RULES_FILE)
    assert {rule.id: rule.action for rule in rules.rules} == {
        "hypertension_outpatient": "chronic_outpatient_application",
        "ltc_assessment": "ltc_assessment_referral",
        "wearable_not_worn": "wellness_visit",
        "pension_certification": "pension_certification_reminder",
    }
    hypertension = rules.rule("hypertension_outpatient")
    assert hypertension is not None
    assert dict(hypertension.when[0].limits) == {"systolic_bp": 140, "diastolic_bp": 90}


def test_an_administrators_file_replaces_them(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, GOOD_RULE))
    assert [rule.id for rule in rules.rules] == ["falls"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD_RULE.replace("days = 90", "days = 0"), "rule 'falls' (rules[0]): when[0].days:"),
        (GOOD_RULE.replace("at_least = 2", "at_lest = 2"), "when[0].at_lest: unknown key"),
        (
            GOOD_RULE.replace('type = "alert_count"', 'type = "alerts"'),
            "rule 'falls' (rules[0]): when[0]:",
        ),
        (
            GOOD_RULE.replace('"ltc_assessment_referral"', '"massage"'),
            "rule 'falls' (rules[0]): action:",
        ),
        (GOOD_RULE + GOOD_RULE, "rule 'falls' (rules[1]): id: 'falls' is also the id of rules[0]"),
        (GOOD_RULE.replace('id = "falls"\n', ""), "rules[0]: id: Field required"),
        ('timezone = "Mars/Olympus"\n' + GOOD_RULE, "timezone: Value error, unknown time zone"),
    ],
)
def test_a_broken_file_names_the_rule_and_the_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(RulesError) as caught:
        load_rules(write(tmp_path, text))
    assert expected in str(caught.value)
    assert str(tmp_path / "rules.toml") in str(caught.value)


def test_readings_rule_needs_min_days_within_days(tmp_path: Path) -> None:
    text = GOOD_RULE.replace(
        'type = "alert_count"\nkinds = ["fall"]\nat_least = 2\ndays = 90',
        'type = "readings_above"\nlimits = { systolic_bp = 140 }\nmin_days = 9\ndays = 7',
    )
    with pytest.raises(RulesError, match=r"rule 'falls' \(rules\[0\]\): when\[0\]: .*min_days"):
        load_rules(write(tmp_path, text))


def test_config_names_the_rules_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_RULE)
    config_file = tmp_path / "cloud.toml"
    config_file.write_text(f'[follow_up]\nrules_file = "{path}"\ninterval_s = 600\n')
    config = load_config(CloudConfig, config_file, environ={})
    assert config.follow_up.rules_file == path and config.follow_up.interval_s == 600
    config_file.write_text('[follow_up]\nrules_file = "/nowhere/rules.toml"\n')
    with pytest.raises(ConfigError, match=r"follow_up\.rules_file"):
        load_config(CloudConfig, config_file, environ={})
