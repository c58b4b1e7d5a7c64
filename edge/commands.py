"""Commands from the cloud: checked, applied once, and answered with a result.

Every command the gateway can read gets a :class:`CommandResult`: ``done``, or ``refused``
with a reason that names what was wrong. A command delivered again (QoS 1 does that) gets
the first answer again and is not applied twice. What a command changed is written to
disk before it is answered, so the change survives a restart.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from anxin.analytics.alerts import VOCABULARY, UnknownAlertKind, alert_kind
from anxin.config import (
    ConfigError,
    DeviceBindingConfig,
    EdgeConfig,
    ThresholdConfig,
    load_config,
)
from anxin.devices.catalogue import device_kind
from anxin.edge.managed import ManagedSettings, Snooze, save_managed
from anxin.protocol import STAMPED_HERE, UNITS, Command, CommandResult

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")


class CommandRefused(Exception):
    """The command is well formed but cannot be applied here; the message says why."""


class CommandTarget(Protocol):
    """What commands act on: the running gateway."""

    @property
    def config(self) -> EdgeConfig: ...

    @property
    def home_subject(self) -> str: ...

    def now_ms(self) -> int: ...

    async def reconfigure(self, config: EdgeConfig) -> list[str]: ...

    def snooze(self, subject: str, kind: str | None, until_ms: int) -> None: ...


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BindDevice(_Args):
    device: DeviceBindingConfig

    @field_validator("device")
    @classmethod
    def _known_device(cls, device: DeviceBindingConfig) -> DeviceBindingConfig:
        device_kind(device.kind)  # KeyError names the known kinds
        if not _ADDRESS.match(device.address):
            raise ValueError(f"address '{device.address}' is not a Bluetooth address")
        return device


class UnbindDevice(_Args):
    device_id: str = Field(min_length=1, max_length=64)


class SetThresholds(_Args):
    thresholds: tuple[ThresholdConfig, ...] = Field(max_length=50)

    @field_validator("thresholds")
    @classmethod
    def _usable(cls, rules: tuple[ThresholdConfig, ...]) -> tuple[ThresholdConfig, ...]:
        for index, rule in enumerate(rules):
            where = f"thresholds[{index}]"
            if rule.observation not in UNITS:
                raise ValueError(f"{where}: unknown observation '{rule.observation}'")
            if rule.kind not in VOCABULARY:
                raise ValueError(f"{where}: unknown alert kind '{rule.kind}'")
            if (rule.above is None) == (rule.below is None):
                raise ValueError(f"{where}: needs exactly one of 'above' or 'below'")
        return rules


class SnoozeAlerts(_Args):
    minutes: float = Field(ge=0, le=24 * 60, description="0 ends a snooze")
    kind: str | None = None  # None: every kind that may be snoozed
    person_id: str | None = Field(default=None, max_length=64)

    @field_validator("kind")
    @classmethod
    def _snoozable(cls, kind: str | None) -> str | None:
        if kind is not None and alert_kind(kind).severity == "critical":
            raise ValueError(f"'{kind}' is critical and is never snoozed")
        return kind


class ReloadConfig(_Args):
    pass


ARGUMENTS: dict[str, type[_Args]] = {
    "bind_device": BindDevice,
    "unbind_device": UnbindDevice,
    "set_thresholds": SetThresholds,
    "snooze": SnoozeAlerts,
    "reload_config": ReloadConfig,
}


def describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(command)"
        reason = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        reason = reason.removeprefix("Value error, ")
        parts.append(f"{where}: {reason}")
    return "; ".join(parts)


class CommandProcessor:
    def __init__(
        self,
        target: CommandTarget,
        managed: ManagedSettings,
        managed_file: Path,
        config_file: Path | None,
        load: Callable[[Path], EdgeConfig] = lambda path: load_config(EdgeConfig, path),
    ) -> None:
        self.target = target
        self.managed = managed
        self.managed_file = managed_file
        self.config_file = config_file
        self._load = load
        self.counters: Counter[str] = Counter()  # done, refused, repeated

    async def handle(self, payload: bytes) -> CommandResult:
        try:
            command = Command.model_validate_json(payload)
        except ValidationError as exc:
            return self._unreadable(payload, describe(exc))
        earlier = self.managed.results.get(command.command_id)
        if earlier is not None:
            self.counters["repeated"] += 1
            return earlier
        restart_needed: list[str] = []
        try:
            restart_needed = await self._apply(command)
        except CommandRefused as exc:
            result = self._result(command.command_id, command.action, str(exc))
        else:
            result = self._result(command.command_id, command.action, None, restart_needed)
        self.managed.remember(result)
        save_managed(self.managed_file, self.managed)
        self._log(result)
        return result

    async def _apply(self, command: Command) -> list[str]:
        now = self.target.now_ms()
        if command.expires_at_ms is not None and command.expires_at_ms <= now:
            expired = datetime.fromtimestamp(command.expires_at_ms / 1000, UTC)
            raise CommandRefused(f"expired at {expired:%Y-%m-%d %H:%M:%S} UTC")
        try:
            args = ARGUMENTS[command.action].model_validate(command.args)
        except ValidationError as exc:
            raise CommandRefused(describe(exc)) from None
        except (KeyError, UnknownAlertKind) as exc:
            raise CommandRefused(str(exc).strip("\"'")) from None
        match args:
            case BindDevice(device=device):
                return await self._set_devices(self._bound_with(device))
            case UnbindDevice(device_id=device_id):
                return await self._set_devices(self._bound_without(device_id))
            case SetThresholds(thresholds=thresholds):
                self.managed.thresholds = thresholds
                return await self._reconfigure(self.target.config)
            case SnoozeAlerts():
                self._snooze(args, now)
                return []
            case ReloadConfig():
                return await self._reload()
        raise CommandRefused(f"unknown action '{command.action}'")  # pragma: no cover

    def _bound_with(self, device: DeviceBindingConfig) -> tuple[DeviceBindingConfig, ...]:
        address = device.address.upper()
        for other in self.target.config.devices:
            if other.address.upper() == address and other.device_id != device.device_id:
                raise CommandRefused(f"address {address} is already bound to {other.device_id}")
        kept = [d for d in self.target.config.devices if d.device_id != device.device_id]
        return (*kept, device.model_copy(update={"address": address}))

    def _bound_without(self, device_id: str) -> tuple[DeviceBindingConfig, ...]:
        devices = self.target.config.devices
        if all(d.device_id != device_id for d in devices):
            raise CommandRefused(f"device {device_id} is not bound to this gateway")
        return tuple(d for d in devices if d.device_id != device_id)

    async def _set_devices(self, devices: tuple[DeviceBindingConfig, ...]) -> list[str]:
        self.managed.devices = devices
        return await self._reconfigure(self.target.config)

    async def _reconfigure(self, base: EdgeConfig) -> list[str]:
        return await self.target.reconfigure(self.managed.apply_to(base))

    def _snooze(self, args: SnoozeAlerts, now_ms: int) -> None:
        subject = args.person_id or self.target.home_subject
        until_ms = now_ms + int(args.minutes * 60_000)
        self.target.snooze(subject, args.kind, until_ms)
        kept = [
            s
            for s in self.managed.snoozes
            if s.until_ms > now_ms and (s.subject, s.kind) != (subject, args.kind)
        ]
        if args.minutes > 0:
            kept.append(Snooze(subject=subject, kind=args.kind, until_ms=until_ms))
        self.managed.snoozes = kept

    async def _reload(self) -> list[str]:
        if self.config_file is None:
            raise CommandRefused("this gateway was started without a configuration file")
        try:
            config = self._load(self.config_file)
        except ConfigError as exc:
            raise CommandRefused(f"configuration not reloaded: {exc}") from None
        return await self._reconfigure(config)

    def _unreadable(self, payload: bytes, reason: str) -> CommandResult:
        """Answer what can be answered: the id and action, if the payload has them."""
        fields: dict[str, Any] = {}
        try:
            parsed = json.loads(payload)
            if isinstance(parsed, dict):
                fields = parsed
        except (ValueError, UnicodeDecodeError):
            reason = "not a JSON command"
        command_id = fields.get("command_id")
        action = fields.get("action")
        result = self._result(
            command_id[:64] if isinstance(command_id, str) else "",
            action[:64] if isinstance(action, str) else "",
            reason,
        )
        self._log(result)
        return result

    def _result(
        self,
        command_id: str,
        action: str,
        refusal: str | None,
        restart_needed: list[str] | None = None,
    ) -> CommandResult:
        config = self.target.config.gateway
        fields = {
            "site_id": config.site_id,
            "gateway_id": config.gateway_id,
            "command_id": command_id,
            "action": action,
            "status": "refused" if refusal else "done",
            "reason": refusal[:1000] if refusal else None,
            "restart_needed_for": restart_needed or [],
            "at_ms": self.target.now_ms(),
        }
        return CommandResult.model_validate(fields, context={STAMPED_HERE: True})

    def _log(self, result: CommandResult) -> None:
        self.counters[result.status] += 1
        extra = {"event": "command", "command_id": result.command_id, "action": result.action}
        if result.status == "done":
            log.info("command %s (%s) done", result.command_id, result.action, extra=extra)
        else:
            log.warning(
                "command %s (%s) refused: %s",
                result.command_id or "(unreadable)",
                result.action or "?",
                result.reason,
                extra=extra,
            )
