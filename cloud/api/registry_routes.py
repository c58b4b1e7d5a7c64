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
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.cloud.api.auth import principal_of, require_role
from anxin.cloud.api.body import path_int, read_body
from anxin.cloud.api.context import ApiContext
from anxin.cloud.api.errors import error
from anxin.cloud.api.registry_bodies import (
    PERSON_ID,
    BindingCreate,
    BindingEnd,
    ChronicRegistrationCreate,
    ConsentCreate,
    EnrolmentTokenCreate,
    FamilyLinkCreate,
    PersonCreate,
    PersonPatch,
    to_ms,
)
from anxin.cloud.api.registry_openapi import PATHS, SCHEMAS
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

__all__ = ["PATHS", "SCHEMAS", "routes"]

log = logging.getLogger(__name__)
LATEST_WINDOW_MS = 10 * 60 * 1000
WRITERS = ("admin", "worker")
# The same for a person who does not exist and one the caller may not see; it does not
# repeat the id, so an answer never names someone else's record.
NO_PERSON = "no such person among those you may see"
Result = TypeVar("Result")


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
        """The caller (admin or worker) and the path's person, who they may see."""
        principal = require_role(request, *WRITERS)
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
        with self.registry.session() as session:
            chronic = persons.chronic_registrations(session, [p.id for p in people])
        today = datetime.now(UTC).date()
        since = now_ms() - LATEST_WINDOW_MS
        listing = []
        for person in people:
            latest = {}
            for kind in ("heart_rate", "spo2"):
                rows = self.timeseries.query(person.id, kind, since, limit=1)
                if rows:
                    latest[kind] = {
                        "value": rows[-1].value,
                        "unit": UNITS[kind],
                        "ts": iso(rows[-1].ts_ms),
                    }
            devices = self.registry.devices_of_person(person.id)
            listing.append(
                self.person_json(person, [r for r in chronic if r.person_id == person.id], today)
                | {
                    "latest": latest,
                    "open_alerts": sum(1 for a in open_alerts if a.person_id == person.id),
                    "devices": [{"id": d.id, "kind": d.kind, "state": d.state} for d in devices],
                }
            )
        return listing

    async def one_person(self, principal: Principal, person_id: str) -> dict[str, Any]:
        listing = await asyncio.to_thread(self.persons_listing, principal, person_id)
        if not listing:
            raise error(404, "not_found", NO_PERSON)
        return listing[0]

    # --- persons --------------------------------------------------------------------

    async def list_persons(self, request: web.Request) -> web.Response:
        principal = principal_of(request)
        return web.json_response(await asyncio.to_thread(self.persons_listing, principal))

    async def get_person(self, request: web.Request) -> web.Response:
        principal, person_id = await self.seen(request)
        return web.json_response(await self.one_person(principal, person_id))

    async def create_person(self, request: web.Request) -> web.Response:
        principal = require_role(request, *WRITERS)
        body = await read_body(request, PersonCreate)
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
        return web.json_response(await self.one_person(principal, person.id), status=201)

    async def update_person(self, request: web.Request) -> web.Response:
        principal, person_id = await self.writable(request)
        body = await read_body(request, PersonPatch)
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
        return web.json_response(await self.one_person(principal, person_id))

    # --- chronic-disease registrations -------------------------------------------------

    async def list_chronic(self, request: web.Request) -> web.Response:
        _, person_id = await self.seen(request)

        def load() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                return [
                    chronic_json(r) for r in persons.chronic_registrations(session, [person_id])
                ]

        return web.json_response(await asyncio.to_thread(load))

    async def add_chronic(self, request: web.Request) -> web.Response:
        principal, person_id = await self.writable(request)
        body = await read_body(request, ChronicRegistrationCreate)
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
        return web.json_response(chronic_json(registration), status=201)

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

    async def list_family(self, request: web.Request) -> web.Response:
        _, person_id = await self.seen(request)
        return web.json_response(await asyncio.to_thread(self.family_json, person_id))

    async def link_family(self, request: web.Request) -> web.Response:
        principal, person_id = await self.writable(request)
        body = await read_body(request, FamilyLinkCreate)
        await self.write(
            lambda s: persons.link_family(
                s, principal.username, person_id, body.username, body.relation, body.notify
            )
        )
        family = await asyncio.to_thread(self.family_json, person_id)
        return web.json_response(
            next(item for item in family if item["username"] == body.username), status=201
        )

    # --- workers ------------------------------------------------------------------------

    async def list_workers(self, request: web.Request) -> web.Response:
        principal = require_role(request, *WRITERS)

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

        return web.json_response(await asyncio.to_thread(load))

    # --- bindings and devices -------------------------------------------------------------

    async def list_bindings(self, request: web.Request) -> web.Response:
        _, person_id = await self.seen(request)

        def load() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                return [binding_json(b) for b in bindings.bindings_of_person(session, person_id)]

        return web.json_response(await asyncio.to_thread(load))

    async def bind(self, request: web.Request) -> web.Response:
        principal, person_id = await self.writable(request)
        body = await read_body(request, BindingCreate)
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
        return web.json_response(binding_json(binding), status=201)

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

    async def end_binding(self, request: web.Request) -> web.Response:
        principal = require_role(request, *WRITERS)
        binding_id = row_id(request, "binding_id")
        body = await read_body(request, BindingEnd) if request.can_read_body else BindingEnd()

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
        return web.json_response(binding_json(binding))

    async def list_devices(self, request: web.Request) -> web.Response:
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

        return web.json_response(await asyncio.to_thread(load))

    # --- gateways ----------------------------------------------------------------------------

    async def list_gateways(self, request: web.Request) -> web.Response:
        principal = require_role(request, *WRITERS)

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

        return web.json_response(await asyncio.to_thread(load))

    async def issue_enrolment_token(self, request: web.Request) -> web.Response:
        principal = require_role(request, "admin")
        gateway_id = request.match_info["gateway_id"]
        body = await read_body(request, EnrolmentTokenCreate)
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
        return web.json_response(
            {
                "token": issued.token,
                "site_id": issued.site_id,
                "gateway_id": issued.gateway_id,
                "api_url": issued.api_url,
                "expires_at": issued.expires_at,
            },
            status=201,
            headers={"Cache-Control": "no-store"},
        )

    # --- consents ------------------------------------------------------------------------------

    async def list_consents(self, request: web.Request) -> web.Response:
        _, person_id = await self.seen(request)

        def load() -> list[dict[str, Any]]:
            with self.registry.session() as session:
                return [consent_json(c) for c in consents.consents_of(session, person_id)]

        return web.json_response(await asyncio.to_thread(load))

    async def grant_consent(self, request: web.Request) -> web.Response:
        principal, person_id = await self.writable(request)
        body = await read_body(request, ConsentCreate)
        consent = await self.write(
            lambda s: consents.grant_consent(
                s,
                principal.username,
                person_id,
                body.data_scope,
                body.grantee,
                body.purpose,
                body.valid_until,
            )
        )
        return web.json_response(consent_json(consent), status=201)

    async def revoke_consent(self, request: web.Request) -> web.Response:
        principal = require_role(request, *WRITERS)
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
        return web.json_response(consent_json(consent))


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
        "purpose": consent.purpose,
        "granted_at": iso(consent.granted_at_ms),
        "valid_until": day(consent.valid_until),
        "revoked_at": iso(consent.revoked_at_ms),
        "recorded_by": consent.recorded_by,
        "in_force_today": consents.counts_on(consent, consents.day_of(now_ms())),
    }


def routes(ctx: ApiContext, prefix: str) -> list[web.RouteDef]:
    api = RegistryApi(ctx)
    person = f"{prefix}/persons/{{person_id}}"
    return [
        web.get(f"{prefix}/persons", api.list_persons),
        web.post(f"{prefix}/persons", api.create_person),
        web.get(person, api.get_person),
        web.patch(person, api.update_person),
        web.get(f"{person}/chronic-registrations", api.list_chronic),
        web.post(f"{person}/chronic-registrations", api.add_chronic),
        web.get(f"{person}/family", api.list_family),
        web.post(f"{person}/family", api.link_family),
        web.get(f"{person}/bindings", api.list_bindings),
        web.post(f"{person}/bindings", api.bind),
        web.post(f"{prefix}/bindings/{{binding_id}}/end", api.end_binding),
        web.get(f"{person}/consents", api.list_consents),
        web.post(f"{person}/consents", api.grant_consent),
        web.post(f"{prefix}/consents/{{consent_id}}/revoke", api.revoke_consent),
        web.get(f"{prefix}/workers", api.list_workers),
        web.get(f"{prefix}/devices", api.list_devices),
        web.get(f"{prefix}/gateways", api.list_gateways),
        web.post(f"{prefix}/gateways/{{gateway_id}}/enrolment-tokens", api.issue_enrolment_token),
    ]
