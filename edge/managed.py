"""What the cloud changed on this gateway, kept on disk so a restart keeps it.

Device bindings and thresholds sent by command override the configuration file's; snoozes
last until they run out; the results of the last commands are kept so that a command the
broker delivers twice is answered twice but applied once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anxin.config import ConfigError, DeviceBindingConfig, EdgeConfig, ThresholdConfig
from anxin.protocol import STAMPED_HERE, CommandResult

RESULTS_KEPT = 500


class Snooze(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str
    kind: str | None = None  # None: every kind
    until_ms: int


class ManagedSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: tuple[DeviceBindingConfig, ...] | None = None
    thresholds: tuple[ThresholdConfig, ...] | None = None
    snoozes: list[Snooze] = Field(default_factory=list)
    results: dict[str, CommandResult] = Field(default_factory=dict)

    def apply_to(self, config: EdgeConfig) -> EdgeConfig:
        """The configuration file's settings with the cloud's changes on top."""
        update: dict[str, Any] = {}
        if self.devices is not None:
            update["devices"] = self.devices
        if self.thresholds is not None:
            update["thresholds"] = self.thresholds
        return config.model_copy(update=update) if update else config

    def remember(self, result: CommandResult) -> None:
        self.results[result.command_id] = result
        while len(self.results) > RESULTS_KEPT:
            del self.results[next(iter(self.results))]


def managed_path(config: EdgeConfig) -> Path:
    return config.gateway.queue_path.with_name("edge-managed.json")


def load_managed(path: Path) -> ManagedSettings:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ManagedSettings()
    try:
        # The results in it carry this gateway's own clock, which it cannot judge.
        return ManagedSettings.model_validate_json(text, context={STAMPED_HERE: True})
    except ValidationError as exc:
        raise ConfigError(f"{path} (settings sent by the cloud) is damaged: {exc}") from None


def save_managed(path: Path, settings: ManagedSettings) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    data = settings.model_dump(mode="json", by_alias=True, exclude_none=True)
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
