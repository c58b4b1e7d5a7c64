"""Two communities, each with a person and everything that hangs off them, and one user of
every role: the world the authorisation matrix and the care journey run in.

"own" objects belong to 张秀英 (p-a, 幸福里社区), whom worker-a serves, family-a is linked
to and recipient-a is; "other" objects belong to 李建国 (p-b, 和平街社区), whom none of them
may see. Only the administrator sees both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from anxin.cloud.access.passwords import hash_password
from anxin.cloud.database.models import (
    Alert,
    BarthelAssessment,
    Binding,
    ChronicRegistration,
    Consent,
    Device,
    FamilyLink,
    FollowUp,
    Gateway,
    Intervention,
    Person,
    User,
)
from anxin.cloud.registry.registry import Registry, now_ms

COMMUNITY_A = "幸福里社区"
COMMUNITY_B = "和平街社区"
PASSWORD = "correct-horse-battery"

# username -> (role, community, person_id, supervisor)
USERS: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "admin": ("admin", None, None, None),
    "sup-a": ("worker", COMMUNITY_A, None, None),
    "worker-a": ("worker", COMMUNITY_A, None, "sup-a"),
    "worker-b": ("worker", COMMUNITY_B, None, None),
    "family-a": ("family", None, None, None),
    "recipient-a": ("recipient", None, "p-a", None),
}
ROLES = ("admin", "worker-a", "family-a", "recipient-a")


@dataclass
class Side:
    """The ids of one person's objects."""

    person_id: str
    site_id: str
    gateway_id: str
    device_id: str
    community: str
    worker: str  # the community's health worker
    ids: dict[str, int] = field(default_factory=dict)


@dataclass
class World:
    registry: Registry
    own: Side
    other: Side


def build_world(registry: Registry) -> World:
    own = Side("p-a", "site-a", "gw-a", "hr-a", COMMUNITY_A, "worker-a")
    other = Side("p-b", "site-b", "gw-b", "hr-b", COMMUNITY_B, "worker-b")
    registry.add_all(
        [
            _person(own, "张秀英", "Zhang Xiuying", "F", date(1942, 3, 15), COMMUNITY_A),
            _person(other, "李建国", "Li Jianguo", "M", date(1939, 8, 2), COMMUNITY_B),
            Gateway(id=own.gateway_id, site_id=own.site_id),
            Gateway(id=other.gateway_id, site_id=other.site_id),
        ]
    )
    registry.add_all(
        [
            Device(
                id=side.device_id,
                gateway_id=side.gateway_id,
                kind="heart_rate_strap",
                address=address,
            )
            for side, address in ((own, "C0:00:00:01:00:01"), (other, "C0:00:00:02:00:01"))
        ]
    )
    registry.add_all(
        [
            User(
                username=username,
                display_name=username,
                role=role,
                password_hash=hash_password(PASSWORD),
                community=community,
                person_id=person_id,
                supervisor=supervisor,
            )
            for username, (role, community, person_id, supervisor) in USERS.items()
        ]
    )
    registry.add_all(
        [FamilyLink(username="family-a", person_id=own.person_id, relation="daughter")]
    )
    for side in (own, other):
        _objects_of(registry, side)
    return World(registry, own, other)


def _person(side: Side, name: str, latin: str, sex: str, born: date, community: str) -> Person:
    return Person(
        id=side.person_id,
        name=name,
        name_latin=latin,
        birth_date=born,
        sex=sex,
        community=community,
        address=f"{community} 1 号楼",
        site_id=side.site_id,
    )


def _objects_of(registry: Registry, side: Side) -> None:
    at = now_ms()
    with registry.session() as session, session.begin():
        binding = Binding(device_id=side.device_id, person_id=side.person_id, valid_from_ms=0)
        alert = Alert(
            gateway_id=side.gateway_id,
            seq=1,
            person_id=side.person_id,
            device_id=side.device_id,
            kind="heart_rate_high",
            severity="high",
            status="open",
            raised_at_ms=at,
            last_raised_at_ms=at,
            received_at_ms=at,
            occurrences=1,
            observation="heart_rate",
            value=131.0,
            threshold=120.0,
            message="heart rate 131/min",
        )
        consent = Consent(
            person_id=side.person_id,
            data_scope="wear_record",
            grantee="pension_office",
            purpose="生存认证",
            granted_at_ms=at,
            recorded_by="admin",
        )
        assessment = BarthelAssessment(
            person_id=side.person_id,
            assessed_on=date(2026, 11, 1),
            assessed_by="admin",
            items={"feeding": 10},
            total=10,
            recorded_at_ms=at,
        )
        chronic = ChronicRegistration(
            person_id=side.person_id, condition="diabetes", registered_on=date(2024, 1, 1)
        )
        follow_up = FollowUp(
            person_id=side.person_id,
            rule_id="device-not-worn",
            action="wellness_visit",
            explanation="未佩戴设备超过 48 小时",
            evidence={"last_seen": "2026-11-19T08:00:00Z"},
            created_at_ms=at,
        )
        session.add_all([binding, alert, consent, assessment, chronic, follow_up])
        session.flush()
        intervention = Intervention(
            person_id=side.person_id,
            kind="phone_call",
            alert_id=alert.id,
            created_by="admin",
            created_at_ms=at,
        )
        session.add(intervention)
        session.flush()
        side.ids.update(
            binding_id=binding.id,
            alert_id=alert.id,
            consent_id=consent.id,
            assessment_id=assessment.id,
            follow_up_id=follow_up.id,
            intervention_id=intervention.id,
        )
