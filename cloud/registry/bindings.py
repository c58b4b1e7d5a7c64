"""Which device is worn by (or installed for) whom, and since when.

A device is bound to at most one person at any moment, so every reading and alert it
sends belongs to exactly one person. Ingest caches bindings briefly
(``Registry.person_for_device``); callers forget the cached ones after committing a change.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anxin.cloud.audit.chain import record
from anxin.cloud.database.models import Binding, Device
from anxin.cloud.registry.errors import Conflict, InvalidField, NotFound
from anxin.cloud.registry.persons import get_person
from anxin.cloud.registry.registry import now_ms


def bind_device(
    session: Session,
    actor: str,
    person_id: str,
    device_id: str,
    valid_from_ms: int | None = None,
    valid_to_ms: int | None = None,
) -> Binding:
    """Bind ``device_id`` to the person from ``valid_from_ms`` (default now), open-ended
    unless ``valid_to_ms`` is given. Refused when the device is bound to anyone then."""
    get_person(session, person_id)
    # Locking the device row serialises two binders of the same device (PostgreSQL).
    if session.get(Device, device_id, with_for_update=True) is None:
        raise InvalidField("device_id", f"no device '{device_id}'")
    start = now_ms() if valid_from_ms is None else valid_from_ms
    if valid_to_ms is not None and valid_to_ms <= start:
        raise InvalidField("valid_to", "must be after valid_from")
    query = select(Binding).where(
        Binding.device_id == device_id,
        or_(Binding.valid_to_ms.is_(None), Binding.valid_to_ms > start),
    )
    if valid_to_ms is not None:
        query = query.where(Binding.valid_from_ms < valid_to_ms)
    overlapping = session.scalars(query).first()
    if overlapping is not None:
        raise Conflict(
            f"device_id: device '{device_id}' is bound to another person or period "
            f"(binding {overlapping.id}); end that binding first"
        )
    binding = Binding(
        device_id=device_id, person_id=person_id, valid_from_ms=start, valid_to_ms=valid_to_ms
    )
    session.add(binding)
    session.flush()
    record(
        session,
        actor,
        "binding.create",
        f"bindings/{binding.id}",
        person_id,
        {"device_id": device_id, "valid_from_ms": start, "valid_to_ms": valid_to_ms},
    )
    return binding


def end_binding(session: Session, actor: str, binding_id: int, at_ms: int | None = None) -> Binding:
    """End a binding at ``at_ms`` (default now)."""
    binding = session.get(Binding, binding_id)
    if binding is None:
        raise NotFound(f"no binding {binding_id}")
    end = now_ms() if at_ms is None else at_ms
    if binding.valid_to_ms is not None and binding.valid_to_ms <= end:
        raise Conflict(f"binding {binding_id} has already ended")
    if end <= binding.valid_from_ms:
        raise InvalidField("at", "must be after the binding's valid_from")
    binding.valid_to_ms = end
    session.flush()
    record(
        session,
        actor,
        "binding.end",
        f"bindings/{binding_id}",
        binding.person_id,
        {"device_id": binding.device_id, "valid_to_ms": end},
    )
    return binding


def bindings_of_person(session: Session, person_id: str) -> list[Binding]:
    return list(
        session.scalars(
            select(Binding)
            .where(Binding.person_id == person_id)
            .order_by(Binding.valid_from_ms.desc(), Binding.id.desc())
        )
    )
