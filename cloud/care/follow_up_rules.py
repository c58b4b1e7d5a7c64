"""Insurance follow-up rules as data: a TOML file, validated on load.

A rule fires for a person when every condition under ``when`` holds and none under
``unless`` does; it then asks for ``action`` (an intervention kind) and may attach
``evidence``. The rules shipped with Anxin are ``follow_up_rules.toml`` next to this
module; an administrator replaces them with ``[follow_up] rules_file``. Errors name the
rule id and the field, for example ``rule 'ltc_referral' (rules[1]): when[0].days: ...``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from anxin.cloud.care.interventions import KINDS
from anxin.config import TimeZoneName
from anxin.protocol import UNITS

DEFAULT_RULES_FILE = Path(__file__).with_name("follow_up_rules.toml")
WEARABLE_KINDS = ("heart_rate_strap", "pulse_oximeter", "accelerometer_wearable")
WORN_OBSERVATIONS = ("heart_rate", "spo2", "activity")
PERSON_DATE_FIELDS = ("pension_certification_due", "family_doctor_contract_until")
GRANTEES = ("family", "community_worker", "insurer", "pension_office", "gp")

ObservationType = Literal[tuple(UNITS)]  # type: ignore[valid-type]
Action = Literal[KINDS]  # type: ignore[valid-type]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the rule and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadingsAbove(_Strict):
    """Readings at or above a limit (any one of ``limits``) on at least ``min_days``
    different local days within the last ``days`` days."""

    type: Literal["readings_above"]
    limits: dict[ObservationType, float] = Field(min_length=1)
    min_days: int = Field(ge=1, le=366)
    days: int = Field(ge=1, le=366)

    @model_validator(mode="after")
    def _days_fit(self) -> ReadingsAbove:
        if self.min_days > self.days:
            raise ValueError(f"min_days ({self.min_days}) cannot exceed days ({self.days})")
        return self


class AlertCount(_Strict):
    """At least ``at_least`` alerts of ``kinds`` in the last ``days`` days (dismissed
    alerts are false alarms and do not count; repeats folded into one alert do)."""

    type: Literal["alert_count"]
    kinds: tuple[Name, ...] = Field(min_length=1)
    at_least: int = Field(ge=1, le=10_000)
    days: int = Field(ge=1, le=3660)


class LatestBarthel(_Strict):
    """The latest Barthel Index total is at most ``at_most`` (an assessment older than
    ``within_days``, when given, does not count)."""

    type: Literal["latest_barthel"]
    at_most: int = Field(ge=0, le=100)
    within_days: int | None = Field(default=None, ge=1, le=3660)


class NotWorn(_Strict):
    """A bound wearable sent nothing for ``hours`` although it did within the last
    ``seen_within_days`` days (a device never worn at all is an installation matter)."""

    type: Literal["not_worn"]
    hours: float = Field(gt=0, le=24 * 90)
    observations: tuple[ObservationType, ...] = Field(default=WORN_OBSERVATIONS, min_length=1)
    device_kinds: tuple[str, ...] = Field(default=WEARABLE_KINDS, min_length=1)
    seen_within_days: int = Field(default=30, ge=1, le=366)


class DateDue(_Strict):
    """A date of the person's record falls within ``within_days`` from today (or passed)."""

    type: Literal["date_due"]
    field: Literal[PERSON_DATE_FIELDS]  # type: ignore[valid-type]
    within_days: int = Field(ge=0, le=3660)


class ChronicRegistration(_Strict):
    """The person has a current chronic-disease outpatient registration for ``condition``."""

    type: Literal["chronic_registration"]
    condition: Name


class AnyOf(_Strict):
    """At least one of ``conditions`` holds."""

    type: Literal["any_of"]
    conditions: tuple[Condition, ...] = Field(min_length=2)


Condition = Annotated[
    ReadingsAbove | AlertCount | LatestBarthel | NotWorn | DateDue | ChronicRegistration | AnyOf,
    Field(discriminator="type"),
]
AnyOf.model_rebuild()
CONDITION_TYPES = frozenset(
    {
        "readings_above",
        "alert_count",
        "latest_barthel",
        "not_worn",
        "date_due",
        "chronic_registration",
        "any_of",
    }
)


class WearRecord(_Strict):
    """Hours worn per local day over the last ``days`` days, attached only when the person
    has a current consent to share ``wear_record`` data with ``grantee``."""

    type: Literal["wear_record"]
    days: int = Field(default=30, ge=1, le=366)
    grantee: Literal[GRANTEES] = "pension_office"  # type: ignore[valid-type]
    observations: tuple[ObservationType, ...] = Field(default=WORN_OBSERVATIONS, min_length=1)


class Rule(_Strict):
    id: Name
    title_zh: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    action: Action
    # When the intervention falls due, counted from the firing.
    due_days: float = Field(default=14, ge=0, le=366)
    enabled: bool = True
    when: tuple[Condition, ...] = Field(min_length=1)
    unless: tuple[Condition, ...] = ()
    evidence: tuple[WearRecord, ...] = ()


class RuleSet(_Strict):
    timezone: TimeZoneName = "Asia/Shanghai"
    rules: tuple[Rule, ...] = ()
    source: str = ""

    def rule(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif i > 0 and isinstance(loc[i - 1], int) and part in CONDITION_TYPES | {"wear_record"}:
            continue  # the union's tag, which pydantic puts in the path; the file has none
        else:
            text += f".{part}" if text else str(part)
    return text or "(rule)"


def parse_rules(data: dict[str, Any], source: str = "rules") -> RuleSet:
    """A RuleSet from parsed TOML; RulesError naming every wrong rule and field."""
    problems: list[str] = []
    unknown = sorted(set(data) - {"timezone", "rules"})
    problems += [
        f"{key}: unknown key (a rules file has 'timezone' and [[rules]])" for key in unknown
    ]
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        problems.append("rules: must be a list of [[rules]] tables")
        raw_rules = []
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        name = (
            f"rule '{rule_id}' (rules[{index}])" if isinstance(rule_id, str) else f"rules[{index}]"
        )
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            for item in exc.errors():
                reason = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
                problems.append(f"{name}: {_path(item['loc'])}: {reason}")
            continue
        if rule.id in seen:
            problems.append(f"{name}: id: '{rule.id}' is also the id of rules[{seen[rule.id]}]")
        seen.setdefault(rule.id, index)
        rules.append(rule)
    try:
        timezone = RuleSet.model_validate({"timezone": data.get("timezone", "Asia/Shanghai")})
    except ValidationError as exc:
        problems.append(f"timezone: {exc.errors()[0]['msg']}")
        timezone = RuleSet()
    if problems:
        raise RulesError("\n".join([f"invalid follow-up rules in {source}:", *problems]))
    return RuleSet(timezone=timezone.timezone, rules=tuple(rules), source=source)


def load_rules(path: str | Path | None = None) -> RuleSet:
    """The rules in ``path``, or the shipped defaults when ``path`` is None."""
    path = Path(path) if path is not None else DEFAULT_RULES_FILE
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise RulesError(f"follow-up rules file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path} is not valid TOML: {exc}") from None
    return parse_rules(data, str(path))


def rules_json(rules: RuleSet) -> dict[str, Any]:
    return {
        "source": rules.source,
        "timezone": rules.timezone,
        "rules": [rule.model_dump(mode="json") for rule in rules.rules],
    }
