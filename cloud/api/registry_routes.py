"""API routes for persons, families, workers, devices and bindings, gateways, consents.

Who sees what: admin everything, a worker the persons of their community, a family member
their linked persons, a recipient themself; anyone else's person answers 404. Admins and
workers write (a worker only within their community); family and recipients get 403.
Resident IDs and phone numbers only ever leave masked.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import Field
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.cloud.api import registry_answers as answer
from anxin.cloud.api.auth import principal_of
from anxin.cloud.api.body import path_int
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.errors import error
from anxin.cloud.api.operation import Answer, RowId, bind, operation, operations_of
from anxin.cloud.api.registry_bodies import (
    PERSON_ID,
    USERNAME,
    BindingCreate,
    BindingEnd,
    ChronicRegistrationCreate,
    ConsentCreate,
    EnrolmentTokenCreate,
    FamilyLinkCreate,
    PersonCreate,
    PersonId,
    PersonPatch,
    SiteId,
    to_ms,
)
from anxin.cloud.audit.chain import record
from anxin.cloud.care.alert_lifecycle import ACTIVE_STATUSES
from anxin.cloud.database.models import (
    Binding,
    ChronicRegistration,
    Consent,
    Device,
    Gateway,
    GatewayCredential,
    Person,
    User,
)
from anxin.cloud.gateways.enrolment import Enrolment
from anxin.cloud.registry import bindings, consents, persons
from anxin.cloud.registry.errors import RegistryError
from anxin.cloud.registry.field_crypto import FieldCipher, FieldCryptoError, MissingKeyError
from anxin.cloud.registry.registry import Principal, now_ms
from anxin.protocol import UNITS

__all__ = ["OPERATIONS", "routes"]

log = logging.getLogger(__name__)
LATEST_WINDOW_MS = 10 * 60 * 1000
LATEST_KINDS = ("heart_rate", "spo2")
WRITERS = ("admin", "worker")
# The same for a person who does not exist and one the caller may not see; it does not
# repeat the id, so an answer never names someone else's record.
NO_PERSON = "no such person among those you may see"
Result = TypeVar("Result")
PERSON = {"person_id": PersonId}
NOT_FOUND = Answer("no such person (or one the caller may not see)")
CONFLICT = Answer("contradicts what is stored (duplicate, overlapping, already done)")
NO_KEY = Answer("no encryption key is configured for resident IDs and phones")


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class RegistryApi:
    def __init__(self, ctx: ApiContext) -> None:
        self.registry = ctx.registry
        self.timeseries = ctx.timeseries
        self.config = ctx.config
        self.cipher: FieldCipher | None = FieldCipher.from_settings(ctx.config.registry)

    # --- scoping ------------------------------------------------------------------

    def visible_persons(self, principal: Principal) -> list[Person]:
        return self.registry.persons_visible_to(principal)

    def visible_person_ids(self, principal: Principal) -> set[str]:
        return {person.id for person in self.visible_persons(principal)}

    def check_visible(self, principal: Principal, person_id: str) -> None:
        if not re.match(PERSON_ID, person_id) or not self.registry.can_see_person(
            principal, person_id
        ):
            raise error(404, "not_found", NO_PERSON)

    async def seen(self, request: web.Request) -> tuple[Principal, str]:
        principal = principal_of(request)
        person_id = request.match_info["person_id"]
        await asyncio.to_thread(self.check_visible, principal, person_id)
        return principal, person_id

    async def writable(self, request: web.Request) -> tuple[Principal, str]:
        """The caller (an operation for WRITERS) and the path's person, who they may see."""
        principal = principal_of(request)
        person_id = request.match_info["person_id"]
        await asyncio.to_thread(self.check_visible, principal, person_id)
        return principal, person_id

    async def write(self, change: Callable[[Session], Result]) -> Result:
        """Run ``change`` in one transaction; refusals become 4xx answers."""

        def run() -> Result:
            with self.registry.session() as session, session.begin():
                return change(session)

        try:
            return await asyncio.to_thread(run)
        except RegistryError as exc:
            raise error(exc.status, exc.code, exc.message) from None
        except MissingKeyError as exc:
            raise error(503, "encryption_key_missing", str(exc)) from None
        except FieldCryptoError as exc:
            raise error(503, "encryption_key_error", str(exc)) from None
        except IntegrityError:
            raise error(
                409, "conflict", "the change conflicts with a concurrent one; retry"
            ) from None

    # --- JSON ---------------------------------------------------------------------

    def _masked(self, mask: Callable[[FieldCipher | None, Any], str | None], value: Any) -> Any:
        try:
            return mask(self.cipher, value)
        except FieldCryptoError as exc:  # shown empty rather than failing the whole listing
            log.error("cannot show an encrypted field: %s", exc)
            return None

    def person_json(
        self, person: Person, chronic: list[ChronicRegistration], today: date
    ) -> dict[str, Any]:
        return {
            "id": person.id,
            "name": person.name,
            "name_latin": person.name_latin,
            "sex": person.sex,
            "age": age_on(person.birth_date, today),
            "birth_date": person.birth_date.isoformat(),
            "community": person.community,
            "address": person.address,
            "site_id": person.site_id,
            "resident_id": self._masked(persons.masked_resident_id, person),
            "phone": self._masked(persons.masked_phone, person.phone_enc),
            "insured_region_code": person.insured_region_code,
            "medical_insurance_type": person.medical_insurance_type,
            "ltc_insurance_status": person.ltc_insurance_status,
            "ltc_assessed_level": person.ltc_assessed_level,
            "family_doctor": person.family_doctor,
            "family_doctor_contract_until": day(person.family_doctor_contract_until),
            "pension_certification_due": day(person.pension_certification_due),
            "chronic_registrations": [chronic_json(r) for r in chronic],
        }

    def persons_listing(
        self, principal: Principal, only: str | None = None
    ) -> list[dict[str, Any]]:
        people = [p for p in self.visible_persons(principal) if only is None or p.id == only]
        open_alerts = self.registry.alerts_visible_to(principal, ACTIVE_STATUSES)
        ids = [p.id for p in people]
        with self.registry.session() as session:
            chronic = persons.chronic_registrations(session, ids)
        today = datetime.now(UTC).date()
        # One question to each store for everyone listed, never one per person.
        newest = self.timeseries.latest(ids, LATEST_KINDS, now_ms() - LATEST_WINDOW_MS)
        devices = self.registry.devices_of_persons(ids)
        chronic_of: dict[str, list[ChronicRegistration]] = {}
        for registration in chronic:
            chronic_of.setdefault(registration.person_id, []).append(registration)
        alerts_of = Counter(alert.person_id for alert in open_alerts)
        listing = []
        for person in people:
            latest = {
                kind: {"value": row.value, "unit": UNITS[kind], "ts": iso(row.ts_ms)}
                for kind in LATEST_KINDS
                if (row := newest.get((person.id, kind))) is not None
            }
            listing.append(
                self.person_json(person, chronic_of.get(person.id, []), today)
                | {
                    "latest": latest,
                    "open_alerts": alerts_of[person.id],
                    "devices": [
                        {"id": d.id, "kind": d.kind, "state": d.state} for d in devices[person.id]
                    ],
                }
            )
        return listing

    async def one_person(self, principal: Principal, person_id: str) -> dict[str, Any]:
        listing = await asyncio.to_thread(self.persons_listing, principal, person_id)
        if not listing:
            raise error(404, "not_found", NO_PERSON)
        return listing[0]

    # --- persons --------------------------------------------------------------------

    @operation(
        "GET",
        "/persons",
        "Persons the caller may see, with latest vitals, open alert count and insurance "
        "fields (resident ID and phone masked)",
        {200: Answer("persons", list[answer.Person])},
    )
    async def list_persons(self, request: web.Request) -> list[dict[str, Any]]:
        principal = principal_of(request)
        return await asyncio.to_thread(self.persons_listing, principal)

    @operation(
        "GET",
        "/persons/{person_id}",
        "One person",
        {200: Answer("person", answer.Person), 404: NOT_FOUND},
        path_params=PERSON,
    )
    async def get_person(self, request: web.Request) -> dict[str, Any]:
        principal, person_id = await self.seen(request)
        return await self.one_person(principal, person_id)

    @operation(
        "POST",
        "/persons",
        "Enrol a person (admin; worker within their community)",
        {201: Answer("enrolled", answer.Person), 409: CONFLICT, 503: NO_KEY},
        body=PersonCreate,
        roles=WRITERS,
    )
    async def create_person(self, request: web.Request, body: PersonCreate) -> dict[str, Any]:
        principal = principal_of(request)
        if principal.role == "worker" and body.community != principal.community:
            raise error(
                403,
                "forbidden",
                f"community: a worker enrols persons of their own community "
                f"('{principal.community}') only",
            )
        fields = body.model_dump(exclude={"id"})
        person = await self.write(
            lambda s: persons.create_person(s, principal.username, self.cipher, fields, body.id)
        )
        return await self.one_person(principal, person.id)

    @operation(
        "PATCH",
        "/persons/{person_id}",
        "Change a person's fields (only those sent; null clears an optional one)",
        {200: Answer("person", answer.Person), 404: NOT_FOUND, 409: CONFLICT, 503: NO_KEY},
        body=PersonPatch,
        roles=WRITERS,
        path_params=PERSON,
    )
    async def update_person(self, request: web.Request, body: PersonPatch) -> dict[str, Any]:
        principal, person_id = await self.writable(request)
        changes = body.changes()
        if (
            principal.role == "worker"
            and "community" in changes
            and changes["community"] != principal.community
        ):
            raise error(
                403, "forbidden", "community: a worker may not move a person to another community"
            )
        await self.write(
            lambda s: persons.update_person(s, principal.username, self.cipher, person_id, changes)
        )
        return await self.one_person(principal, person_id)

    # --- chronic-disease registrations -------------------------------------------------

    @operation(
        "GET",
        "/persons/{person_id}/chronic-registrations",
        "The person's chronic-disease outpatient registrations",
        {200: Answer("registrations", list[answer.ChronicRegistration]), 404: NOT_FOUND},
        path_params=PERSON,
    )
    async def list_chronic(self, request: web.Request) -> list[dict[str, Any]]:
        _, person_id = await self.seen(request)

        def load() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                return [
                    chronic_json(r) for r in persons.chronic_registrations(session, [person_id])
                ]

        return await asyncio.to_thread(load)

    @operation(
        "POST",
        "/persons/{person_id}/chronic-registrations",
        "Record a chronic-disease outpatient registration",
        {201: Answer("recorded", answer.ChronicRegistration), 404: NOT_FOUND, 409: CONFLICT},
        body=ChronicRegistrationCreate,
        roles=WRITERS,
        path_params=PERSON,
    )
    async def add_chronic(
        self, request: web.Request, body: ChronicRegistrationCreate
    ) -> dict[str, Any]:
        principal, person_id = await self.writable(request)
        registration = await self.write(
            lambda s: persons.add_chronic_registration(
                s,
                principal.username,
                person_id,
                body.condition,
                body.registered_on,
                body.valid_until,
            )
        )
        return chronic_json(registration)

    # --- family ----------------------------------------------------------------------------

    def family_json(self, person_id: str) -> list[dict[str, Any]]:
        with self.registry.session() as session:
            return [
                {
                    "username": user.username,
                    "display_name": user.display_name,
                    "relation": link.relation,
                    "notify": link.notify,
                    "phone": self._masked(persons.masked_phone, user.phone_enc),
                }
                for link, user in persons.family_of(session, person_id)
            ]

    @operation(
        "GET",
        "/persons/{person_id}/family",
        "Family members linked to the person (phones masked)",
        {200: Answer("family", list[answer.FamilyMember]), 404: NOT_FOUND},
        path_params=PERSON,
    )
    async def list_family(self, request: web.Request) -> list[dict[str, Any]]:
        _, person_id = await self.seen(request)
        return await asyncio.to_thread(self.family_json, person_id)

    @operation(
        "POST",
        "/persons/{person_id}/family",
        "Link a family account to the person, or change its relation and notify flag "
        "(admin; a worker needs the person's consent, in force, with grantee 'family', "
        "grantee_username the account and data_scope 'vitals', for a new link)",
        {
            201: Answer("linked", answer.FamilyMember),
            403: Answer("role, or no consent for a new link (consent_required)"),
            404: NOT_FOUND,
            409: CONFLICT,
        },
        body=FamilyLinkCreate,
        roles=WRITERS,
        path_params=PERSON,
    )
    async def link_family(self, request: web.Request, body: FamilyLinkCreate) -> dict[str, Any]:
        """Admin; or the person's worker, given the person's consent to that relative."""
        principal, person_id = await self.writable(request)

        def change(s: Session) -> None:
            if principal.role != "admin":
                consents.require_family_consent(s, person_id, body.username)
            persons.link_family(
                s, principal.username, person_id, body.username, body.relation, body.notify
            )

        await self.write(change)
        family = await asyncio.to_thread(self.family_json, person_id)
        return next(item for item in family if item["username"] == body.username)

    @operation(
        "DELETE",
        "/persons/{person_id}/family/{username}",
        "Unlink a family account from the person (admin, or the person's worker): the "
        "relative loses access to the person at once",
        {200: Answer("unlinked", answer.FamilyUnlinked), 404: NOT_FOUND},
        roles=WRITERS,
        path_params=PERSON | {"username": Annotated[str, Field(pattern=USERNAME)]},
    )
    async def unlink_family(self, request: web.Request) -> dict[str, Any]:
        principal, person_id = await self.writable(request)
        username = request.match_info["username"]
        if not re.match(USERNAME, username):
            raise error(404, "not_found", "no family account of this name is linked here")
        await self.write(
            lambda s: persons.unlink_family(s, principal.username, person_id, username)
        )
        return {"person_id": person_id, "username": username, "unlinked": True}

    # --- workers ------------------------------------------------------------------------

    @operation(
        "GET",
        "/workers",
        "Community health workers (admin: all; worker: their community)",
        {200: Answer("workers", list[answer.Worker])},
        roles=WRITERS,
    )
    async def list_workers(self, request: web.Request) -> list[dict[str, Any]]:
        principal = principal_of(request)

        def load() -> list[dict[str, Any]]:
            query = select(User).where(User.role == "worker").order_by(User.username)
            if principal.role == "worker":
                query = query.where(User.community == principal.community)
            with self.registry.session() as session:
                return [
                    {
                        "username": user.username,
                        "display_name": user.display_name,
                        "community": user.community,
                        "supervisor": user.supervisor,
                        "phone": self._masked(persons.masked_phone, user.phone_enc),
                    }
                    for user in session.scalars(query)
                ]

        return await asyncio.to_thread(load)

    # --- bindings and devices -------------------------------------------------------------

    @operation(
        "GET",
        "/persons/{person_id}/bindings",
        "The person's device bindings, newest first",
        {200: Answer("bindings", list[answer.Binding]), 404: NOT_FOUND},
        path_params=PERSON,
    )
    async def list_bindings(self, request: web.Request) -> list[dict[str, Any]]:
        _, person_id = await self.seen(request)

        def load() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                return [binding_json(b) for b in bindings.bindings_of_person(session, person_id)]

        return await asyncio.to_thread(load)

    @operation(
        "POST",
        "/persons/{person_id}/bindings",
        "Bind a device to the person (refused while it is bound to anyone)",
        {201: Answer("bound", answer.Binding), 404: NOT_FOUND, 409: CONFLICT},
        body=BindingCreate,
        roles=WRITERS,
        path_params=PERSON,
    )
    async def bind(self, request: web.Request, body: BindingCreate) -> dict[str, Any]:
        principal, person_id = await self.writable(request)
        if principal.role == "worker":
            await asyncio.to_thread(self.check_device_in_community, principal, body.device_id)
        binding = await self.write(
            lambda s: bindings.bind_device(
                s,
                principal.username,
                person_id,
                body.device_id,
                to_ms(body.valid_from),
                to_ms(body.valid_to),
            )
        )
        self.registry.forget_bindings(binding.device_id)
        return binding_json(binding)

    def check_device_in_community(self, principal: Principal, device_id: str) -> None:
        """A worker binds only devices of gateways at their community's homes."""
        sites = {p.site_id for p in self.visible_persons(principal) if p.site_id}
        with self.registry.session() as session:
            site = session.scalars(
                select(Gateway.site_id)
                .join(Device, Device.gateway_id == Gateway.id)
                .where(Device.id == device_id)
            ).first()
        if site not in sites:
            raise error(
                400, "bad_parameter", f"device_id: no device '{device_id}' in your community"
            )

    @operation(
        "POST",
        "/bindings/{binding_id}/end",
        "End a binding (now, or at the time given)",
        {200: Answer("ended", answer.Binding), 404: NOT_FOUND, 409: CONFLICT},
        body=BindingEnd,
        body_required=False,
        roles=WRITERS,
        path_params={"binding_id": RowId},
    )
    async def end_binding(self, request: web.Request, body: BindingEnd) -> dict[str, Any]:
        principal = principal_of(request)
        binding_id = row_id(request, "binding_id")

        def owner() -> str | None:
            with self.registry.session() as session:
                binding = session.get(Binding, binding_id)
                return binding.person_id if binding else None

        person_id = await asyncio.to_thread(owner)
        if person_id is None or person_id not in await asyncio.to_thread(
            self.visible_person_ids, principal
        ):
            raise error(404, "not_found", f"no binding {binding_id} that you may see")
        binding = await self.write(
            lambda s: bindings.end_binding(s, principal.username, binding_id, to_ms(body.at))
        )
        self.registry.forget_bindings(binding.device_id)
        return binding_json(binding)

    @operation(
        "GET",
        "/devices",
        "Devices at the homes of the persons the caller may see (admin: all)",
        {200: Answer("devices", list[answer.Device])},
    )
    async def list_devices(self, request: web.Request) -> list[dict[str, Any]]:
        principal = principal_of(request)

        def load() -> list[dict[str, Any]]:
            now = now_ms()
            people = self.visible_persons(principal)
            visible = {p.id for p in people}
            sites = {p.site_id for p in people if p.site_id}
            with self.registry.session() as session:
                current = {
                    b.device_id: b
                    for b in session.scalars(
                        select(Binding).where(
                            Binding.valid_from_ms <= now,
                            or_(Binding.valid_to_ms.is_(None), Binding.valid_to_ms > now),
                        )
                    )
                }
                rows = session.execute(
                    select(Device, Gateway.site_id)
                    .join(Gateway, Gateway.id == Device.gateway_id)
                    .order_by(Device.id)
                )
                listing = []
                for device, site_id in rows:
                    binding = current.get(device.id)
                    bound_to = binding.person_id if binding else None
                    if (
                        principal.role != "admin"
                        and site_id not in sites
                        and bound_to not in visible
                    ):
                        continue
                    shown = bound_to if principal.role == "admin" or bound_to in visible else None
                    listing.append(
                        {
                            "id": device.id,
                            "gateway_id": device.gateway_id,
                            "site_id": site_id,
                            "kind": device.kind,
                            "address": device.address,
                            "state": device.state,
                            "person_id": shown,
                            "binding_id": binding.id if binding and shown else None,
                        }
                    )
                return listing

        return await asyncio.to_thread(load)

    # --- gateways ----------------------------------------------------------------------------

    @operation(
        "GET",
        "/gateways",
        "Gateways (admin: all; worker: at their community's homes)",
        {200: Answer("gateways", list[answer.Gateway])},
        roles=WRITERS,
    )
    async def list_gateways(self, request: web.Request) -> list[dict[str, Any]]:
        principal = principal_of(request)

        def load() -> list[dict[str, Any]]:
            sites = {p.site_id for p in self.visible_persons(principal) if p.site_id}
            with self.registry.session() as session:
                enrolled = set(session.scalars(select(GatewayCredential.gateway_id)))
                return [
                    {
                        "id": gateway.id,
                        "site_id": gateway.site_id,
                        "online": gateway.online,
                        "last_seen": iso(gateway.last_seen_ms),
                        "enrolled": gateway.id in enrolled,
                    }
                    for gateway in session.scalars(select(Gateway).order_by(Gateway.id))
                    if principal.role == "admin" or gateway.site_id in sites
                ]

        return await asyncio.to_thread(load)

    @operation(
        "POST",
        "/gateways/{gateway_id}/enrolment-tokens",
        "Issue a one-time enrolment token for a gateway (admin); an earlier unused one stops "
        "working",
        {201: Answer("issued", answer.EnrolmentToken)},
        body=EnrolmentTokenCreate,
        roles=("admin",),
        path_params={"gateway_id": SiteId},
        headers={"Cache-Control": "no-store"},
    )
    async def issue_enrolment_token(
        self, request: web.Request, body: EnrolmentTokenCreate
    ) -> dict[str, Any]:
        principal = principal_of(request)
        gateway_id = request.match_info["gateway_id"]
        known = await asyncio.to_thread(self.registry.gateway, gateway_id)
        site_id = body.site_id or (known.site_id if known else None)
        if site_id is None:
            raise error(
                400, "bad_parameter", f"site_id: gateway '{gateway_id}' is new; name its site"
            )
        enrolment = Enrolment(self.registry, self.config)
        try:
            issued = await asyncio.to_thread(enrolment.issue, site_id, gateway_id, body.valid_hours)
        except ValueError as exc:
            raise error(400, "bad_parameter", str(exc)) from None

        def audit() -> None:
            with self.registry.session() as session, session.begin():
                record(
                    session,
                    principal.username,
                    "gateway.enrolment_token",
                    f"gateways/{gateway_id}",
                    None,
                    {"site_id": site_id, "expires_at_ms": issued.expires_at_ms},
                )

        await asyncio.to_thread(audit)
        return {
            "token": issued.token,
            "site_id": issued.site_id,
            "gateway_id": issued.gateway_id,
            "api_url": issued.api_url,
            "expires_at": issued.expires_at,
        }

    # --- consents ------------------------------------------------------------------------------

    @operation(
        "GET",
        "/persons/{person_id}/consents",
        "The person's consents, newest first",
        {200: Answer("consents", list[answer.Consent]), 404: NOT_FOUND},
        path_params=PERSON,
    )
    async def list_consents(self, request: web.Request) -> list[dict[str, Any]]:
        _, person_id = await self.seen(request)

        def load() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                return [consent_json(c) for c in consents.consents_of(session, person_id)]

        return await asyncio.to_thread(load)

    @operation(
        "POST",
        "/persons/{person_id}/consents",
        "Record a consent",
        {201: Answer("recorded", answer.Consent), 404: NOT_FOUND, 409: CONFLICT},
        body=ConsentCreate,
        roles=WRITERS,
        path_params=PERSON,
    )
    async def grant_consent(self, request: web.Request, body: ConsentCreate) -> dict[str, Any]:
        principal, person_id = await self.writable(request)
        consent = await self.write(
            lambda s: consents.grant_consent(
                s,
                principal.username,
                person_id,
                body.data_scope,
                body.grantee,
                body.purpose,
                body.valid_until,
                grantee_username=body.grantee_username,
            )
        )
        return consent_json(consent)

    @operation(
        "POST",
        "/consents/{consent_id}/revoke",
        "Revoke a consent",
        {200: Answer("revoked", answer.Consent), 404: NOT_FOUND, 409: CONFLICT},
        roles=WRITERS,
        path_params={"consent_id": RowId},
    )
    async def revoke_consent(self, request: web.Request) -> dict[str, Any]:
        principal = principal_of(request)
        consent_id = row_id(request, "consent_id")

        def owner() -> str | None:
            with self.registry.session() as session:
                consent = session.get(Consent, consent_id)
                return consent.person_id if consent else None

        person_id = await asyncio.to_thread(owner)
        if person_id is None or person_id not in await asyncio.to_thread(
            self.visible_person_ids, principal
        ):
            raise error(404, "not_found", f"no consent {consent_id} that you may see")
        consent = await self.write(
            lambda s: consents.revoke_consent(s, principal.username, consent_id)
        )
        return consent_json(consent)


OPERATIONS = operations_of(RegistryApi)


def row_id(request: web.Request, name: str) -> int:
    """A row id from the path; ids past the 32-bit range name no row (404 later)."""
    value = path_int(request, name)
    return value if value < 2**31 else 0


def chronic_json(registration: ChronicRegistration) -> dict[str, Any]:
    return {
        "id": registration.id,
        "condition": registration.condition,
        "registered_on": registration.registered_on.isoformat(),
        "valid_until": day(registration.valid_until),
    }


def binding_json(binding: Binding) -> dict[str, Any]:
    now = now_ms()
    return {
        "id": binding.id,
        "device_id": binding.device_id,
        "person_id": binding.person_id,
        "valid_from": iso(binding.valid_from_ms),
        "valid_to": iso(binding.valid_to_ms),
        "active": binding.valid_from_ms <= now
        and (binding.valid_to_ms is None or now < binding.valid_to_ms),
    }


def consent_json(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.id,
        "person_id": consent.person_id,
        "data_scope": consent.data_scope,
        "grantee": consent.grantee,
        "grantee_username": consent.grantee_username,
        "purpose": consent.purpose,
        "granted_at": iso(consent.granted_at_ms),
        "valid_until": day(consent.valid_until),
        "revoked_at": iso(consent.revoked_at_ms),
        "recorded_by": consent.recorded_by,
        "in_force_today": consents.counts_on(consent, consents.day_of(now_ms())),
    }


def routes(ctx: ApiContext, prefix: str) -> list[web.RouteDef]:
    return bind(RegistryApi(ctx), prefix)
