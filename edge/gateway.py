"""The edge gateway: radio in, local alerts, disk queue, MQTT uplink out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable

from anxin.analytics.thresholds import ThresholdCrossed, ThresholdDetector
from anxin.config import EdgeConfig
from anxin.devices import BTHOME_UUID, FrameError, decode
from anxin.devices.bthome_replay import BTHomeReceiver
from anxin.edge.queue import DiskQueue
from anxin.edge.radio import Advertisement, BoundDevice, Notification, Radio
from anxin.edge.readings import device_time_ms, readings_from, sos_event
from anxin.edge.uplink import Uplink
from anxin.protocol import UNITS, AlertMessage, Observation, encode

log = logging.getLogger(__name__)

AlertListener = Callable[[AlertMessage], None]


class Gateway:
    def __init__(
        self, config: EdgeConfig, radio: Radio, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self.radio = radio
        self.clock = clock
        self.queue = DiskQueue(config.gateway.queue_path)
        self.uplink = Uplink(config.mqtt, config.gateway, self.queue, radio.device_states)
        self.detectors = [ThresholdDetector(rule) for rule in config.thresholds]
        self.counters: Counter[str] = Counter()
        self.alert_listeners: list[AlertListener] = [self._log_alert]
        self.bthome = BTHomeReceiver(
            {d.address: bytes.fromhex(d.bind_key) for d in config.devices if d.bind_key}
        )
        self._state_task: asyncio.Task[None] | None = None

    @property
    def bound_devices(self) -> list[BoundDevice]:
        return [BoundDevice(d.device_id, d.address, d.kind) for d in self.config.devices]

    async def start(self) -> None:
        await self.uplink.start()
        await self.radio.start(self.bound_devices, self.on_notification, self.on_advertisement)
        self._state_task = asyncio.create_task(self._report_states(), name="gateway-state")

    async def stop(self) -> None:
        if self._state_task is not None:
            self._state_task.cancel()
            await asyncio.gather(self._state_task, return_exceptions=True)
        await self.radio.stop()
        await self.uplink.stop()
        self.queue.close()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # --- radio callbacks --------------------------------------------------------------

    def on_notification(self, notification: Notification) -> None:
        try:
            values = decode(notification.characteristic, notification.payload).as_dict()
        except FrameError as exc:
            self._reject(notification.device_id, exc)
            return
        self.record(
            notification.device_id,
            readings_from(values),
            notification.received_at_ms,
            device_time_ms(values),
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
        event = sos_event(values)
        if event is not None:
            self.raise_alert(
                kind="sos",
                severity="critical",
                device_id=advertisement.device_id,
                message=f"SOS button: {event.replace('_', ' ')}",
            )
        self.record(advertisement.device_id, readings_from(values), advertisement.received_at_ms)

    def _reject(self, device_id: str, exc: FrameError) -> None:
        self.counters["rejected_frames"] += 1
        log.warning("rejected frame from %s: %s", device_id, exc)

    # --- recording and alerting -----------------------------------------------------------

    def record(
        self,
        device_id: str,
        readings: list[tuple[str, float]],
        ts_ms: int,
        device_ts_ms: int | None = None,
    ) -> None:
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

        self.queue.put("observations", len(readings), bodies)
        self.counters["observations"] += len(readings)
        for kind, value in readings:
            for detector in self.detectors:
                if detector.rule.observation == kind:
                    crossed = detector.update(device_id, value, ts_ms)
                    if crossed is not None:
                        self.raise_threshold_alert(crossed)
        self.uplink.wake()

    def raise_threshold_alert(self, crossed: ThresholdCrossed) -> AlertMessage:
        rule = crossed.rule
        direction = "above" if rule.above is not None else "below"
        held_s = (crossed.ts_ms - crossed.breaching_since_ms) / 1000
        return self.raise_alert(
            kind=rule.kind,
            severity=rule.severity,
            device_id=crossed.device_id,
            message=(
                f"{rule.observation} {crossed.value:g} {UNITS[rule.observation]} {direction} "
                f"{crossed.threshold:g} for {held_s:.0f} s"
            ),
            observation=rule.observation,
            value=crossed.value,
            threshold=crossed.threshold,
        )

    def raise_alert(
        self,
        kind: str,
        severity: str,
        device_id: str,
        message: str,
        observation: str | None = None,
        value: float | None = None,
        threshold: float | None = None,
    ) -> AlertMessage:
        """Queue the alert for the cloud (ahead of observations) and act on it locally now."""
        made: list[AlertMessage] = []

        def bodies(seqs: list[int]) -> list[str]:
            alert = AlertMessage(
                site_id=self.config.gateway.site_id,
                gateway_id=self.config.gateway.gateway_id,
                seq=seqs[0],
                device_id=device_id,
                kind=kind,
                severity=severity,  # type: ignore[arg-type]
                raised_at_ms=self.now_ms(),
                message=message,
                observation=observation,  # type: ignore[arg-type]
                value=value,
                threshold=threshold,
            )
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
        )

    async def _report_states(self) -> None:
        previous: dict[str, str] = {}
        while True:
            await asyncio.sleep(2.0)
            states = dict(self.radio.device_states())
            if states != previous:
                self.uplink.publish_state()
                previous = states
