"""The gateway's state as Prometheus metrics, read at each scrape."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from anxin.edge.gateway import Gateway

# Gateway counters reported as "dropped, by reason": what the gateway received and
# deliberately did not record. Raw samples shed by a full queue are "queue_full".
DROP_REASONS = {
    "rejected_frames": "malformed_frame",
    "repeated_notifications": "repeated_notification",
    "repeated_advertisements": "repeated_advertisement",
}


class GatewayCollector(Collector):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def collect(self) -> Iterator[Metric]:
        gateway = self.gateway
        uplink = gateway.uplink
        yield _gauge(
            "anxin_edge_queue_depth", "Messages waiting on disk to be sent.", gateway.queue.depth()
        )
        oldest_ms = gateway.queue.oldest_queued_ms()
        age_s = 0.0 if oldest_ms is None else max(0.0, time.time() - oldest_ms / 1000)
        yield _gauge(
            "anxin_edge_queue_oldest_age_seconds",
            "Age of the oldest message still on disk (0 when the queue is empty).",
            age_s,
        )
        yield _gauge(
            "anxin_edge_in_flight", "Messages sent, not yet acknowledged.", uplink.in_flight
        )
        yield _gauge(
            "anxin_edge_broker_connected", "1 while connected to the MQTT broker.", uplink.connected
        )
        yield _counter(
            "anxin_edge_messages_sent", "Messages published to the broker.", uplink.counters["sent"]
        )
        yield _counter(
            "anxin_edge_messages_acknowledged",
            "Messages the broker acknowledged (then deleted from disk).",
            uplink.counters["acknowledged"],
        )
        yield _counter(
            "anxin_edge_broker_connects",
            "Connections made to the broker; more than one means reconnects.",
            uplink.counters["connects"],
        )
        yield _counter(
            "anxin_edge_observations", "Observations recorded.", gateway.counters["observations"]
        )
        yield _counter("anxin_edge_alerts", "Alerts raised and queued.", gateway.counters["alerts"])
        dropped = CounterMetricFamily(
            "anxin_edge_dropped", "Received but not recorded, by reason.", labels=["reason"]
        )
        for counter, reason in DROP_REASONS.items():
            dropped.add_metric([reason], gateway.counters[counter])
        dropped.add_metric(["queue_full"], gateway.queue.shed)
        yield dropped
        if gateway.notifier is not None:
            yield _by_result(
                "anxin_edge_local_notifications",
                "Alerts posted to the local webhook, by result.",
                gateway.notifier.counters,
                ("sent", "failed", "dropped"),
            )
        if gateway.alarm is not None:
            yield _by_result(
                "anxin_edge_alarm_sounds",
                "Alarms played on the gateway's own speaker, by result.",
                gateway.alarm.counters,
                ("played", "failed", "dropped"),
            )
        yield _by_result(
            "anxin_edge_commands",
            "Commands from the cloud, by result (repeated: delivered again, answered again).",
            gateway.commands.counters,
            ("done", "refused", "repeated"),
        )
        states = GaugeMetricFamily(
            "anxin_edge_device_state",
            "1 for each bound device's current state.",
            labels=["device_id", "kind", "state"],
        )
        kinds = {d.device_id: d.kind for d in gateway.config.devices}
        for device_id, state in sorted(gateway.device_states().items()):
            states.add_metric([device_id, kinds.get(device_id, ""), state], 1)
        yield states
        scan_mode = getattr(gateway.radio, "scan_mode_in_effect", None)
        if scan_mode is not None:
            scanning = GaugeMetricFamily(
                "anxin_edge_ble_scan_mode",
                "1 for the BLE scanning mode in effect (passive or active).",
                labels=["mode"],
            )
            for mode in ("passive", "active"):
                scanning.add_metric([mode], float(mode == scan_mode))
            yield scanning


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=float(value))


def _by_result(
    name: str, documentation: str, counters: Mapping[str, int], results: tuple[str, ...]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["result"])
    for result in results:
        family.add_metric([result], counters[result])
    return family
