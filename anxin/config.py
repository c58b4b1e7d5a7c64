"""One TOML file per process, overridable by environment variables.

``ANXIN_<SECTION>__<KEY>=value`` overrides ``[section] key`` (for example
``ANXIN_MQTT__PORT=1884``). Unknown keys and wrong types are rejected with an
error that names the key.
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.networks import IPvAnyNetwork

ENV_PREFIX = "ANXIN_"


def known_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone '{name}' (an IANA name such as Asia/Shanghai)"
        ) from None
    return name


TimeZoneName = Annotated[str, AfterValidator(known_time_zone)]


class ConfigError(ValueError):
    """A configuration file or override that cannot be used; the message names the key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    # "auto": MQTT 5 where the broker speaks it, else 3.1.1 (remembered for the process).
    protocol: Literal["auto", "3.1.1", "5"] = "auto"
    username: str | None = None
    password: str | None = None
    tls_ca_file: Path | None = None
    # Client certificate authentication: both files or neither.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    keepalive_s: int = Field(default=30, ge=5)
    client_id: str | None = None
    # MQTT 5 Session Expiry Interval of persistent sessions; None: a day for a gateway,
    # a week for the cloud ingest.
    session_expiry_s: int | None = Field(default=None, ge=0, le=0xFFFFFFFE)
    reconnect_min_s: int = Field(default=1, ge=1)
    reconnect_max_s: int = Field(default=30, ge=1)

    @field_validator("tls_ca_file", "tls_cert_file", "tls_key_file")
    @classmethod
    def _file_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"file not found: {path}")
        return path

    @model_validator(mode="after")
    def _consistent(self) -> MqttConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file must be given together")
        if (self.tls_cert_file is not None or self.tls_key_file is not None) and (
            self.tls_ca_file is None
        ):
            raise ValueError("tls_cert_file needs tls_ca_file (the CA of the broker)")
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s must not exceed reconnect_max_s")
        return self


class DatabaseConfig(Section):
    url: str = "sqlite:///var/anxin/registry.sqlite"


class RegistryConfig(DatabaseConfig):
    """The registry database and the key its personal fields (resident IDs, phone
    numbers) are encrypted with: base64 of 32 random bytes (``anxin.cloud.registry.field_crypto``).
    After a key rotation the previous keys stay in ``old_encryption_keys`` (a list, or
    comma-separated in ``ANXIN_REGISTRY__OLD_ENCRYPTION_KEYS``) so older values decrypt."""

    encryption_key: str | None = Field(default=None, repr=False)
    old_encryption_keys: tuple[str, ...] = Field(default=(), repr=False)

    @field_validator("old_encryption_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("encryption_key")
    @classmethod
    def _one_key(cls, text: str | None) -> str | None:
        if text is not None:
            _check_key(text)
        return text

    @field_validator("old_encryption_keys")
    @classmethod
    def _old_keys(cls, texts: tuple[str, ...]) -> tuple[str, ...]:
        for text in texts:
            _check_key(text)
        return texts


def _check_key(text: str) -> None:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "must be base64 of 32 bytes (make one with: openssl rand -base64 32)"
        ) from None
    if len(key) != 32:
        raise ValueError(f"must be base64 of 32 bytes, got {len(key)} bytes")


class AuditConfig(Section):
    """The audit log's key, and where the API anchors the chain (``anxin.cloud.audit``).

    ``key``: 32 random bytes as 64 hex digits or base64 (``openssl rand -hex 32``), kept out
    of the database; ``anxin cloud api`` and ``anxin cloud ingest`` refuse to start without
    it. After a rotation the previous keys stay in ``old_keys`` (a list, or comma-separated
    in ``ANXIN_AUDIT__OLD_KEYS``) so older entries verify. The API appends a signed
    checkpoint of the chain's head to ``checkpoint_file`` every ``checkpoint_interval_s`` and
    at shutdown: keep that file where the database's users cannot rewrite it."""

    key: str | None = Field(default=None, repr=False)
    old_keys: tuple[str, ...] = Field(default=(), repr=False)
    checkpoint_file: Path = Path("var/anxin/audit-checkpoints.jsonl")
    checkpoint_interval_s: float = Field(default=60.0, ge=1, le=24 * 3600)

    @field_validator("old_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("key", "old_keys")
    @classmethod
    def _usable_keys(cls, value: str | tuple[str, ...] | None) -> Any:
        from anxin.cloud.audit.keys import decode_key

        for text in (value,) if isinstance(value, str) else value or ():
            decode_key(text, "the key")
        return value


class TimeSeriesConfig(Section):
    backend: Literal["sql", "influxdb"] = "sql"
    url: str = "sqlite:///var/anxin/timeseries.sqlite"
    database: str = "anxin"
    username: str | None = None
    password: str | None = None


class ApiConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    session_ttl_s: int = Field(default=8 * 3600, ge=60)
    # A session unused this long ends (sliding: every request restarts the count).
    session_idle_s: int = Field(default=30 * 60, ge=60)
    # Roles that must log in with a TOTP code; until they enrol one their session may only
    # enrol it (POST /me/totp, /me/totp/confirm), read /me and log out.
    second_factor_roles: tuple[Literal["admin", "worker", "family", "recipient"], ...] = (
        "worker",
        "admin",
    )
    # Login throttling (anxin.cloud.access.login_throttle). One client address may fail
    # lockout_failures times on one account, login_address_failures times in all, before
    # each further attempt waits: login_first_delay_s, doubling up to lockout_minutes.
    lockout_failures: int = Field(default=5, ge=1, le=100)
    lockout_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    login_first_delay_s: float = Field(default=60.0, gt=0, le=24 * 3600)
    login_address_failures: int = Field(default=30, ge=1, le=10_000)
    # Failures on one account from all addresses before attempts from addresses it has not
    # logged in from wait too, never longer than login_account_delay_max_s.
    login_account_failures: int = Field(default=20, ge=1, le=10_000)
    login_account_delay_max_s: float = Field(default=5.0, gt=0, le=60)
    # Counters start afresh after this long without a failure.
    login_forget_hours: float = Field(default=24.0, gt=0, le=24 * 90)
    # Password hashing runs on threads of its own; past this many waiting logins the next
    # are answered 503 at once.
    login_hash_threads: int = Field(default=2, ge=1, le=64)
    login_hash_queue: int = Field(default=16, ge=0, le=10_000)
    # Peers whose X-Forwarded-For is believed (a reverse proxy, the console's server):
    # addresses or networks. Any other peer is the client itself.
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()
    # How installers' gateways reach this API (put in enrolment tokens); unset: host and port.
    public_url: str | None = Field(default=None, pattern=r"^https?://\S+$")


class BrokerConfig(Section):
    """What enrolled gateways are told about the broker, and the Mosquitto files the cloud
    keeps for it (unset ``password_file``: broker credentials are managed elsewhere)."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    protocol: Literal["auto", "3.1.1", "5"] = "auto"
    # PEM handed to gateways so they can check the broker's TLS certificate.
    tls_ca_file: Path | None = None
    password_file: Path | None = None
    acl_file: Path | None = None
    # After writing the files Mosquitto is asked to reread them: SIGHUP to the pid in this
    # file, or this command (for example ["systemctl", "reload", "mosquitto"]).
    reload_pid_file: Path | None = None
    reload_command: tuple[str, ...] = ()
    enrolment_valid_hours: float = Field(default=24.0, gt=0, le=24 * 30)


class IngestConfig(Section):
    # Workers in one shared group split the messages between them. "" subscribes plainly
    # instead, one worker: Mosquitto 2.0 keeps a persistent session's plain subscriptions
    # across its own restart but not its shared ones, so with a shared group what gateways
    # send between a broker restart and the workers' return is not kept for them.
    shared_group: str = Field(default="anxin-ingest", pattern=r"^[A-Za-z0-9_.-]{0,40}$")
    topic_root: str = "anxin/v1"
    # Each worker needs its own id: the broker keeps the worker's session, and holds the
    # messages meant for it, while the worker is down.
    worker_id: str = Field(default="ingest-1", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    # /health reports ingest "degraded" once a worker has had messages waiting, and stored
    # nothing, for this long.
    stalled_after_s: float = Field(default=60.0, gt=0, le=3600)


class GatewayConfig(Section):
    site_id: str
    gateway_id: str
    topic_root: str = "anxin/v1"
    queue_path: Path = Path("var/anxin/edge-queue.sqlite")
    # Past this many queued messages the oldest high-rate raw samples are shed (about
    # 160 bytes each on disk); alerts and spot readings never are.
    queue_max_messages: int = Field(default=500_000, ge=10)
    batch_size: int = Field(default=50, ge=1, le=500)
    max_in_flight: int = Field(default=200, ge=1, le=65535)
    # MQTT 5 Will Delay: the retained offline state is published only if the gateway stays
    # away this long, so a brief network blip pages nobody (3.1.1 brokers publish at once).
    offline_grace_s: int = Field(default=60, ge=0, le=86400)
    # The local /status page and /metrics; None turns them off, 0 takes any free port.
    status_host: str = "127.0.0.1"
    status_port: int | None = Field(default=None, ge=0, le=65535)
    # Each alert is also POSTed here (a hub or speaker on the home network), internet or not.
    local_webhook_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    # A sound on the gateway for alerts at or above alarm_min_severity: the player command
    # ("aplay -q" on most Linux boxes) is given the path of a WAV file; unset, no sound.
    alarm_player: str | None = Field(default=None, pattern=r"\S")
    alarm_min_severity: Literal["low", "medium", "high", "critical"] = "high"
    # BLE scanning: "passive" never transmits scan requests (no scan responses needed);
    # "auto" is passive where the adapter allows (BlueZ advertisement monitors), else active.
    scan_mode: Literal["auto", "passive", "active"] = "auto"


class ThresholdConfig(Section):
    observation: str
    kind: str
    severity: Literal["low", "medium", "high", "critical"] = "high"
    above: float | None = None
    below: float | None = None
    clear_margin: float = Field(default=5.0, ge=0)
    sustain_s: float = Field(default=10.0, ge=0)


def default_thresholds() -> tuple[ThresholdConfig, ...]:
    return (
        ThresholdConfig(observation="heart_rate", kind="heart_rate_high", above=120, sustain_s=10),
        ThresholdConfig(observation="heart_rate", kind="heart_rate_low", below=40, sustain_s=10),
        ThresholdConfig(
            observation="spo2", kind="spo2_low", below=90, clear_margin=2, sustain_s=15
        ),
        ThresholdConfig(
            observation="battery",
            kind="battery_low",
            severity="low",
            below=15,
            clear_margin=10,
            sustain_s=0,
        ),
    )


class DeviceBindingConfig(Section):
    device_id: str
    address: str
    kind: str
    # BTHome encryption key of the sensor (16 bytes as 32 hex digits), when it encrypts.
    bind_key: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{32}$")
    # Whose device this is; unset: the home's one person (``[analytics] person_id``).
    person_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    # Where a home sensor is: "bathroom" makes a motion sensor count bathroom visits, and a
    # door sensor is taken for the front door unless it is placed elsewhere.
    room: str | None = Field(default=None, pattern=r"^[a-z_]{1,32}$")


class AnalyticsConfig(Section):
    """The gateway's live detectors and its rules against alert storms."""

    person_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    timezone: TimeZoneName = "Asia/Shanghai"
    # NEWS2 SpO2 scale 2 is only for confirmed hypercapnic respiratory failure, per person.
    spo2_scale: Literal[1, 2] = 1
    long_lie_s: float = Field(default=120.0, ge=10)
    not_worn_after_s: float = Field(default=60.0, ge=5)
    usual_rising: str = Field(default="07:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    usual_bedtime: str = Field(default="22:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    max_alerts_per_hour: int = Field(default=10, ge=1)
    fold_minutes: float = Field(default=30.0, gt=0)


class EdgeConfig(Section):
    gateway: GatewayConfig
    mqtt: MqttConfig = MqttConfig()
    thresholds: tuple[ThresholdConfig, ...] = Field(default_factory=default_thresholds)
    analytics: AnalyticsConfig = AnalyticsConfig()
    devices: tuple[DeviceBindingConfig, ...] = ()

    @model_validator(mode="after")
    def _will_outlives_grace(self) -> EdgeConfig:
        # The broker forgets a delayed will with the session, so a session shorter than the
        # grace would never announce the gateway offline.
        expiry = self.mqtt.session_expiry_s
        if expiry is not None and expiry < self.gateway.offline_grace_s:
            raise ValueError(
                f"mqtt.session_expiry_s ({expiry}) must be at least gateway.offline_grace_s "
                f"({self.gateway.offline_grace_s})"
            )
        return self


class FollowUpConfig(Section):
    """Insurance follow-up rules: which file, and how often ``anxin cloud api`` runs them."""

    # Unset: the rules shipped with Anxin (anxin/cloud/care/follow_up_rules.toml).
    rules_file: Path | None = None
    enabled: bool = True
    interval_s: float = Field(default=3600.0, ge=10)

    @field_validator("rules_file")
    @classmethod
    def _rules_file_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"file not found: {path}")
        return path


# Minutes after an alert reaches the cloud, unacknowledged, before the community worker
# (level 2) and then the worker's supervisor (level 3) are told; 0: never. Level 1, the
# family, is told at once for every severity.
DEFAULT_ESCALATION: dict[str, dict[str, float]] = {
    "critical": {"worker_after_min": 3, "supervisor_after_min": 10},
    "high": {"worker_after_min": 15, "supervisor_after_min": 60},
    "medium": {"worker_after_min": 240, "supervisor_after_min": 0},
    "low": {"worker_after_min": 0, "supervisor_after_min": 0},
}


class EscalationStep(Section):
    worker_after_min: float = Field(default=0, ge=0, le=7 * 24 * 60)
    supervisor_after_min: float = Field(default=0, ge=0, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _in_order(self) -> EscalationStep:
        if self.supervisor_after_min > 0:
            if self.worker_after_min == 0:
                raise ValueError(
                    "supervisor_after_min needs worker_after_min: the supervisor is the worker's"
                )
            if self.supervisor_after_min <= self.worker_after_min:
                raise ValueError(
                    f"supervisor_after_min ({self.supervisor_after_min:g}) must be later than "
                    f"worker_after_min ({self.worker_after_min:g})"
                )
        return self


class EscalationConfig(Section):
    """How unacknowledged alerts go from the family to the worker to the supervisor."""

    enabled: bool = True
    poll_s: float = Field(default=5.0, gt=0, le=300)
    critical: EscalationStep = EscalationStep(**DEFAULT_ESCALATION["critical"])
    high: EscalationStep = EscalationStep(**DEFAULT_ESCALATION["high"])
    medium: EscalationStep = EscalationStep(**DEFAULT_ESCALATION["medium"])
    low: EscalationStep = EscalationStep(**DEFAULT_ESCALATION["low"])

    @model_validator(mode="before")
    @classmethod
    def _keep_other_defaults(cls, data: Any) -> Any:
        # Setting one key of a severity keeps that severity's default for the other key.
        if not isinstance(data, Mapping):
            return data
        filled = dict(data)
        for severity, defaults in DEFAULT_ESCALATION.items():
            given = filled.get(severity)
            if isinstance(given, Mapping):
                filled[severity] = {**defaults, **given}
        return filled

    def step(self, severity: str) -> EscalationStep:
        """The step of ``severity``; an unknown severity escalates like ``high``."""
        return getattr(self, severity) if severity in DEFAULT_ESCALATION else self.high


class NotificationsConfig(Section):
    """Delivery of alert notifications: the outbox worker, its channels and its limits."""

    enabled: bool = True
    poll_s: float = Field(default=2.0, gt=0, le=300)
    # A failed delivery is retried after retry_base_s, doubling up to retry_max_s, until
    # max_attempts attempts in all; then it is marked failed.
    max_attempts: int = Field(default=6, ge=1, le=50)
    retry_base_s: float = Field(default=30.0, gt=0)
    retry_max_s: float = Field(default=3600.0, gt=0)
    # Per recipient, per hour; the excess is suppressed (kept as suppressed_rate_limit).
    # Never applied to critical alerts.
    max_per_hour: int = Field(default=10, ge=1, le=1000)
    # Signs each webhook body (HMAC-SHA256); webhook deliveries fail while it is unset.
    webhook_secret: str | None = Field(default=None, min_length=16, repr=False)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Webhooks go only to public addresses, and to these networks (CIDR; a list, or
    # comma-separated in ANXIN_NOTIFICATIONS__WEBHOOK_ALLOWED_NETWORKS), e.g. a
    # hospital's own 10.20.0.0/16 where its receivers live.
    webhook_allowed_networks: tuple[IPvAnyNetwork, ...] = Field(default=(), max_length=100)
    # CA certificates (PEM) trusted for webhook receivers besides the system's, e.g. the
    # hospital's own CA.
    webhook_ca_file: Path | None = None
    # E-mail: unset smtp_host, e-mail deliveries fail with a message saying so.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_timeout_s: float = Field(default=30.0, gt=0, le=300)
    email_from: str = Field(default="anxin@localhost", pattern=r"^[^@\s]+@[^@\s]+$")
    # "module:Class" of an SmsGateway (anxin.cloud.notify.sms); the built-in one only
    # records the message and does NOT send it.
    sms_gateway: str = Field(
        default="anxin.cloud.notify.sms:LoggingSmsGateway",
        pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$",
    )

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _networks_comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("webhook_ca_file")
    @classmethod
    def _ca_file_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"file not found: {path}")
        return path

    @model_validator(mode="after")
    def _consistent(self) -> NotificationsConfig:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("smtp_username and smtp_password must be given together")
        if self.retry_base_s > self.retry_max_s:
            raise ValueError("retry_base_s must not exceed retry_max_s")
        return self


class CloudConfig(Section):
    mqtt: MqttConfig = MqttConfig()
    registry: RegistryConfig = RegistryConfig()
    timeseries: TimeSeriesConfig = TimeSeriesConfig()
    api: ApiConfig = ApiConfig()
    ingest: IngestConfig = IngestConfig()
    broker: BrokerConfig = BrokerConfig()
    follow_up: FollowUpConfig = FollowUpConfig()
    escalation: EscalationConfig = EscalationConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    audit: AuditConfig = AuditConfig()


class DashboardConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=0, le=65535)
    api_url: str = "http://127.0.0.1:8080/api/v1"
    refresh_s: float = Field(default=2.0, gt=0)
    language: Literal["zh", "en"] = "zh"


class DemoConfig(Section):
    data_dir: Path = Path("var/demo")
    homes: int = Field(default=5, ge=1, le=20)
    broker_port: int = Field(default=18830, ge=0, le=65535)
    api_port: int = Field(default=8080, ge=0, le=65535)
    dashboard_port: int = Field(default=8050, ge=0, le=65535)
    scenario_start_s: float = Field(default=60.0, ge=0)


Config = TypeVar("Config", bound=Section)


def _env_overrides(environ: Mapping[str, str], sections: set[str]) -> dict[str, Any]:
    """Overrides for this process's sections; other processes' variables are left alone."""
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        if path[0] not in sections:
            continue
        node = overrides
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return overrides


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        reason = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"  key '{key}': {reason}")
    return "\n".join(lines)


def load_config(
    model: type[Config],
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **defaults: Any,
) -> Config:
    """Build ``model`` from defaults, then the TOML file, then ``ANXIN_*`` variables."""
    data: dict[str, Any] = dict(defaults)
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as handle:
                data = _merge(data, tomllib.load(handle))
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    overrides = _env_overrides(os.environ if environ is None else environ, set(model.model_fields))
    if overrides:
        source += " and ANXIN_* environment variables"
        data = _merge(data, overrides)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
