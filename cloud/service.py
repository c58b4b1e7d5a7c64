"""Long-running cloud processes: ``anxin cloud ingest`` and ``anxin cloud api``."""

from __future__ import annotations

import logging

from aiohttp import web

from anxin.cloud.api import create_app
from anxin.cloud.audit import checkpoints as audit_checkpoints
from anxin.cloud.care import escalation, follow_ups
from anxin.cloud.gateways.enrolment import Enrolment
from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.cloud.stores import Stores, open_stores
from anxin.config import CloudConfig, ConfigError
from anxin.runtime import wait_for_stop_signal

log = logging.getLogger(__name__)


def start_ingest(config: CloudConfig, stores: Stores) -> IngestWorker:
    ingest = Ingest(stores.registry, stores.timeseries, config.ingest.topic_root)
    worker = IngestWorker(ingest, config.mqtt, config.ingest)
    worker.start()
    return worker


async def start_api(config: CloudConfig, stores: Stores, port: int | None = None) -> web.AppRunner:
    app = create_app(
        stores.registry,
        stores.timeseries,
        config.api.session_ttl_s,
        enrolment=Enrolment(stores.registry, config),
        config=config,
    )
    # Insurance follow-up rules run while the API runs.
    app.cleanup_ctx.append(
        follow_ups.api_background(stores.registry, stores.timeseries, config.follow_up)
    )
    # Alert escalation and notification delivery run while the API runs.
    app.cleanup_ctx.append(escalation.api_background(stores.registry, config))
    # Signed checkpoints of the audit chain's head, outside the database.
    if config.audit.key is not None:
        app.cleanup_ctx.append(audit_checkpoints.api_background(stores.registry, config.audit))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.api.host, config.api.port if port is None else port)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    server = runner.addresses[0]
    return int(server[1])


def require_audit_key(config: CloudConfig, process: str) -> None:
    # Every request (and every alert ingested) is audited: without the key nothing could be.
    if config.audit.key is None:
        raise ConfigError(
            f"{process} needs an audit key: set [audit] key (or ANXIN_AUDIT__KEY) to 32 "
            "random bytes (make one with: openssl rand -hex 32), kept out of the database"
        )


async def run_ingest(config: CloudConfig) -> None:
    require_audit_key(config, "anxin cloud ingest")
    stores = open_stores(config)
    worker = start_ingest(config, stores)
    log.info(
        "ingest subscribed as %s on %s:%s",
        config.ingest.shared_group,
        config.mqtt.host,
        config.mqtt.port,
    )
    try:
        await wait_for_stop_signal()
    finally:
        worker.stop()
        stores.close()


async def run_api(config: CloudConfig) -> None:
    require_audit_key(config, "anxin cloud api")
    stores = open_stores(config)
    runner = await start_api(config, stores)
    print(f"Anxin API on http://{config.api.host}:{bound_port(runner)}/api/v1", flush=True)
    try:
        await wait_for_stop_signal()
    finally:
        await runner.cleanup()
        stores.close()
