"""The edge gateway: radio in, local alerts, disk queue, MQTT uplink out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from anxin.analytics.alerts import AlertPolicy, Decision, Detection
from anxin.config import EdgeConfig
from anxin.devices import BTHOME_UUID, FrameError, decode
from anxin.devices.bthome_replay import BTHomeReceiver
from anxin.devices.catalogue import device_kind
from anxin.edge.alarm_sound import AlarmSound
from anxin.edge.commands import CommandProcessor
from anxin.edge.home_analytics import Ended, Finding, HomeAnalytics
from anxin.edge.local_notifier import LocalNotifier
from anxin.edge.managed import load_managed, managed_path
from anxin.edge.queue import DiskQueue
from anxin.edge.radio import Advertisement, BoundDevice, Notification, Radio, overlay_state
from anxin.edge.readings import device_time_ms, is_raw_sample, readings_from
from anxin.edge.status_server import StatusServer
from anxin.edge.uplink import Uplink
from anxin.protocol import (
    STAMPED_HERE,
    UNITS,
    AlertMessage,
    CommandResult,
    Observation,
    device_time_problem,
    encode,
    time_problem,
    value_problem,
)
from anxin.runtime import cancel_and_wait

log = logging.getLogger(__name__)

AlertListener = Callable[[AlertMessage], None]
REPEAT_WINDOW_MS = 250


def nominal_intervals(config: EdgeConfig) -> dict[str, float]:
    return {d.device_id: device_kind(d.kind).nominal_interval_s for d in config.devices}


class Gateway:
    def __init__(
        self,
        config: EdgeConfig,
        radio: Radio,
        clock: Callable[[], float] = time.time,
        config_file: Path | None = None,
    ) -> None:
        # Bindings and thresholds the cloud sent by command override the file's.
        managed_file = managed_path(config)
        managed = load_managed(managed_file)
        config = managed.apply_to(config)
        self.config = config
        self.radio = radio
        self.clock = clock
        self.queue = DiskQueue(config.gateway.queue_path, config.gateway.queue_max_messages)
        self.uplink = Uplink(
            config.mqtt, config.gateway, self.queue, self.device_states, self._command_arrived
        )
        self.commands = CommandProcessor(self, managed, managed_file, config_file)
        self._command_inbox: asyncio.Queue[tuple[bytes, Callable[[], None]]] = asyncio.Queue()
        self._command_task: asyncio.Task[None] | None = None
        self.analytics = HomeAnalytics(config)
        self.policy = AlertPolicy(
            max_per_hour=config.analytics.max_alerts_per_hour,
            fold_s=config.analytics.fold_minutes * 60,
        )
        for snooze in managed.snoozes:
            self.policy.snooze(snooze.subject, snooze.kind, snooze.until_ms)
        self.counters: Counter[str] = Counter()
        self.alert_listeners: list[AlertListener] = [self._log_alert]
        self.bthome = BTHomeReceiver(
            {d.address: bytes.fromhex(d.bind_key) for d in config.devices if d.bind_key}
        )
        self._held: dict[tuple[str, str], Detection] = {}
        self._last_frames: dict[tuple[str, int], tuple[bytes, int]] = {}
        # Per notification, to know which readings are sheddable raw samples.
        self._interval_s = nominal_intervals(config)
        self._state_task: asyncio.Task[None] | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self.notifier: LocalNotifier | None = None
        if config.gateway.local_webhook_url is not None:
            self.notifier = LocalNotifier(config.gateway.local_webhook_url)
            self.alert_listeners.append(self.notifier.notify)
        self.alarm: AlarmSound | None = None
        if config.gateway.alarm_player is not None:
            self.alarm = AlarmSound(
                config.gateway.alarm_player,
                config.gateway.queue_path.parent,
                config.gateway.alarm_min_severity,
            )
            self.alert_listeners.append(self.alarm.notify)
        self.status: StatusServer | None = None
        if config.gateway.status_port is not None:
            self.status = StatusServer(self, config.gateway.status_host, config.gateway.status_port)

    @property
    def bound_devices(self) -> list[BoundDevice]:
        return [BoundDevice(d.device_id, d.address, d.kind) for d in self.config.devices]

    async def start(self) -> None:
        await self.uplink.start()
        await self.radio.start(self.bound_devices, self.on_notification, self.on_advertisement)
        self._state_task = asyncio.create_task(self._report_states(), name="gateway-state")
        self._tick_task = asyncio.create_task(self._tick_analytics(), name="gateway-analytics")
        self._command_task = asyncio.create_task(self._process_commands(), name="gateway-commands")
        if self.notifier is not None:
            await self.notifier.start()
        if self.alarm is not None:
            await self.alarm.start()
        if self.status is not None:
            await self.status.start()

    async def stop(self) -> None:
        if self.status is not None:
            await self.status.stop()
        if self.notifier is not None:
            await self.notifier.stop()
        if self.alarm is not None:
            await self.alarm.stop()
        await cancel_and_wait(self._state_task, self._tick_task, self._command_task)
        await self.radio.stop()
        await self.uplink.stop()
        self.queue.close()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @property
    def home_subject(self) -> str:
        return self.analytics.home_subject

    # --- commands from the cloud ----------------------------------------------------------

    def _command_arrived(self, payload: bytes, acknowledge: Callable[[], None]) -> None:
        self._command_inbox.put_nowait((payload, acknowledge))

    async def _process_commands(self) -> None:
        """One at a time, in arrival order: a rebinding restarts the radio."""
        while True:
            payload, acknowledge = await self._command_inbox.get()
            try:
                result = await self.commands.handle(payload)
            except Exception:
                log.exception("command could not be processed; the broker will send it again")
                continue
            self._queue_result(result)
            acknowledge()

    def _queue_result(self, result: CommandResult) -> None:
        self.queue.put("command_results", 1, lambda _seqs: [encode(result).decode()])
        self.uplink.wake()

    async def reconfigure(self, config: EdgeConfig) -> list[str]:
        """Apply new bindings, thresholds and analytics settings while running; returns the
        sections that differ but take effect only after a restart (identity, MQTT link)."""
        restart_needed = [
            name
            for name in ("gateway", "mqtt")
            if getattr(config, name) != getattr(self.config, name)
        ]
        previous = self.config
        self.config = previous.model_copy(
            update={
                "devices": config.devices,
                "thresholds": config.thresholds,
                "analytics": config.analytics,
            }
        )
        self.analytics.reconfigure(self.config)
        self.policy.max_per_hour = self.config.analytics.max_alerts_per_hour
        self.policy.fold_s = self.config.analytics.fold_minutes * 60
        self._interval_s = nominal_intervals(self.config)
        if self.config.devices != previous.devices:
            old_keys = {d.address.upper(): d.bind_key for d in previous.devices}
            new_keys = {d.address.upper(): d.bind_key for d in self.config.devices}
            for address in old_keys.keys() | new_keys.keys():
                if old_keys.get(address) != (key := new_keys.get(address)):
                    self.bthome.set_key(address, bytes.fromhex(key) if key else None)
            await self.radio.stop()
            await self.radio.start(self.bound_devices, self.on_notification, self.on_advertisement)
            self.uplink.publish_state()
        return restart_needed

    # --- radio callbacks --------------------------------------------------------------

    def on_notification(self, notification: Notification) -> None:
        if self._repeated(notification):
            self.counters["repeated_notifications"] += 1
            return
        try:
            values = decode(notification.characteristic, notification.payload).as_dict()
        except FrameError as exc:
            self._reject(notification.device_id, exc)
            return
        readings = readings_from(values)
        self.record(
            notification.device_id, readings, notification.received_at_ms, device_time_ms(values)
        )
        self.act_on(
            self.analytics.on_frame(
                notification.device_id, values, readings, notification.received_at_ms
            )
        )

    def on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement.service_data.get(BTHOME_UUID)
        if data is None:
            return
        try:
            # Decrypts with the sensor's bind key, drops the repeats every sensor sends,
            # and refuses a replayed encrypted frame.
            decoded = self.bthome.accept(advertisement.address, data)
        except FrameError as exc:
            self._reject(advertisement.device_id, exc)
            return
        if decoded is None:
            self.counters["repeated_advertisements"] += 1
            return
        values = decoded.as_dict()
        at_ms = advertisement.received_at_ms
        readings = readings_from(values)
        self.record(advertisement.device_id, readings, at_ms)
        self.act_on(self.analytics.on_frame(advertisement.device_id, values, readings, at_ms))

    def _repeated(self, notification: Notification) -> bool:
        """The same frame again from the same device at once: a resent notification.

        Devices notify at most a few times a second with changing content (new beats, a
        sequence number), so identical bytes within ``REPEAT_WINDOW_MS`` are one reading.
        """
        key = (notification.device_id, notification.characteristic)
        previous = self._last_frames.get(key)
        self._last_frames[key] = (notification.payload, notification.received_at_ms)
        return (
            previous is not None
            and previous[0] == notification.payload
            and notification.received_at_ms - previous[1] < REPEAT_WINDOW_MS
        )

    def _reject(self, device_id: str, exc: FrameError) -> None:
        self.counters["rejected_frames"] += 1
        log.warning(
            "rejected frame from %s: %s",
            device_id,
            exc,
            extra={"event": "rejected_frame", "device_id": device_id},
        )

    # --- recording and alerting -----------------------------------------------------------

    def record(
        self,
        device_id: str,
        readings: list[tuple[str, float]],
        ts_ms: int,
        device_ts_ms: int | None = None,
    ) -> None:
        readings = self._plausible(device_id, readings, ts_ms)
        if device_ts_ms is not None and device_time_problem(device_ts_ms) is not None:
            device_ts_ms = None  # a device clock far off: the reading still counts
        if not readings:
            return

        def bodies(seqs: list[int]) -> list[str]:
            return [
                Observation(
                    seq=seq,
                    device_id=device_id,
                    type=kind,
                    value=value,
                    unit=UNITS[kind],
                    ts_ms=ts_ms,
                    device_ts_ms=device_ts_ms,
                ).model_dump_json(exclude_none=True)
                for seq, (kind, value) in zip(seqs, readings, strict=True)
            ]

        interval_s = self._interval_s.get(device_id, float("inf"))
        sheddable = [is_raw_sample(kind, interval_s) for kind, _ in readings]
        self.queue.put("observations", len(readings), bodies, sheddable)
        self.counters["observations"] += len(readings)
        self.uplink.wake()

    def _plausible(
        self, device_id: str, readings: list[tuple[str, float]], ts_ms: int
    ) -> list[tuple[str, float]]:
        """The readings the cloud accepts: a value outside its type's range, or any reading
        while the gateway's clock is unset, is dropped and counted, never sent."""
        problems = [time_problem(ts_ms)] if time_problem(ts_ms) else []
        kept = []
        for kind, value in readings:
            problem = problems[0] if problems else value_problem(kind, value)
            if problem is None:
                kept.append((kind, value))
            else:
                self.counters["implausible_readings"] += 1
                log.warning("dropped a %s reading from %s: %s", kind, device_id, problem)
        return kept

    def act_on(self, findings: list[Finding]) -> list[Decision]:
        """Pass the detectors' findings through the alert policy; raise what it lets through.

        A detection held back by a snooze or the hourly limit is kept until its condition
        ends: if it still holds when the snooze runs out, it pages then.
        """
        decisions: list[Decision] = []
        for finding in findings:
            if isinstance(finding, Ended):
                self.policy.ended(finding.subject, finding.kind)
                self._held.pop((finding.subject, finding.kind), None)
                continue
            decision = self.policy.offer(finding)
            self.counters[f"detections_{decision.outcome}"] += 1
            decisions.append(decision)
            if decision.raised:
                self._raise_detection(finding)
            elif decision.outcome in ("snoozed", "rate_limited"):
                self._held[(finding.subject, finding.kind)] = finding
        return decisions

    def _offer_held(self, now_ms: int) -> None:
        for key, finding in list(self._held.items()):
            decision = self.policy.offer(replace(finding, ts_ms=now_ms))
            if decision.outcome in ("snoozed", "rate_limited"):
                continue
            del self._held[key]
            if decision.raised:
                self.counters["detections_raise"] += 1
                self._raise_detection(finding)

    def _raise_detection(self, finding: Detection) -> None:
        self.raise_alert(
            kind=finding.kind,
            severity=finding.effective_severity,
            device_id=finding.device_id,
            message=finding.message,
            observation=finding.observation,
            value=finding.value,
            threshold=finding.threshold,
            evidence=finding.evidence.as_dict(),
        )

    def snooze(self, subject: str, kind: str | None, until_ms: int) -> None:
        self.policy.snooze(subject, kind, until_ms)

    def raise_alert(
        self,
        kind: str,
        severity: str,
        device_id: str,
        message: str,
        observation: str | None = None,
        value: float | None = None,
        threshold: float | None = None,
        evidence: dict[str, float | int | str | bool] | None = None,
    ) -> AlertMessage:
        """Queue the alert for the cloud (ahead of observations) and act on it locally now."""
        made: list[AlertMessage] = []

        def bodies(seqs: list[int]) -> list[str]:
            fields = {
                "site_id": self.config.gateway.site_id,
                "gateway_id": self.config.gateway.gateway_id,
                "seq": seqs[0],
                "device_id": device_id,
                "kind": kind,
                "severity": severity,
                "raised_at_ms": self.now_ms(),
                "message": message,
                "observation": observation,
                "value": value,
                "threshold": threshold,
                "evidence": evidence,
            }
            alert = AlertMessage.model_validate(fields, context={STAMPED_HERE: True})
            made.append(alert)
            return [encode(alert).decode()]

        self.queue.put("alerts", 1, bodies)
        self.counters["alerts"] += 1
        for listener in self.alert_listeners:
            listener(made[0])
        self.uplink.wake()
        return made[0]

    @staticmethod
    def _log_alert(alert: AlertMessage) -> None:
        # The local action that happens even with the internet down.
        log.warning(
            "ALERT %s [%s] device %s: %s",
            alert.kind,
            alert.severity,
            alert.device_id,
            alert.message,
            extra={
                "event": "alert",
                "kind": alert.kind,
                "severity": alert.severity,
                "device_id": alert.device_id,
                "seq": alert.seq,
            },
        )

    async def _tick_analytics(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                self._offer_held(self.now_ms())
                self.act_on(self.analytics.tick(self.now_ms(), self.radio.device_states()))
            except Exception:
                log.exception("analytics tick failed; the next one tries again")

    def device_states(self) -> dict[str, str]:
        """Each bound device's state for the cloud, the status page and /metrics: the
        radio's link state with what analytics knows on top (``overlay_state``: out_of_range
        > not_worn > battery_low > link). Battery is low while the ``battery_low``
        threshold is raised (with its clear margin); analytics itself keeps judging the
        bare link state."""
        analytics = self.analytics
        battery = [d for d in analytics.thresholds if d.rule.kind == "battery_low"]
        return {
            device_id: overlay_state(
                link,
                not_worn=(device_id, "not_worn") in analytics.raised_device_conditions,
                battery_low=any(d.is_raised(device_id) for d in battery),
            )
            for device_id, link in self.radio.device_states().items()
        }

    async def _report_states(self) -> None:
        previous: dict[str, str] = {}
        while True:
            await asyncio.sleep(2.0)
            states = self.device_states()
            if states != previous:
                self.uplink.publish_state()
                previous = states
