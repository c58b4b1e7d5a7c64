"""``anxin edge``: one gateway process, on BlueZ or on a simulated home."""

from __future__ import annotations

import logging
from pathlib import Path

from anxin.config import EdgeConfig
from anxin.edge.gateway import Gateway
from anxin.edge.radio import Radio
from anxin.runtime import wait_for_stop_signal

log = logging.getLogger(__name__)


async def run_gateway(
    config: EdgeConfig, simulate: bool = False, config_file: Path | None = None
) -> None:
    home = None
    radio: Radio
    if simulate:
        from anxin.edge.simulation import gateway_radio, simulated_home
        from anxin.firmware_sim import PersonProfile

        home = simulated_home(config.devices, PersonProfile(), home_number=1)
        await home.start()
        radio = gateway_radio(
            home,
            "F0:A1:00:00:00:01",
            scan_mode=config.gateway.scan_mode,
            gatt_cache_path=config.gateway.queue_path.with_name("gatt-cache.json"),
        )
    else:
        from anxin.edge.radio_bleak import BleakRadio

        radio = BleakRadio(scan_mode=config.gateway.scan_mode)
    gateway = Gateway(config, radio, config_file=config_file)
    try:
        await gateway.start()
        log.info(
            "gateway %s of site %s running with %d devices",
            config.gateway.gateway_id,
            config.gateway.site_id,
            len(config.devices),
        )
        await wait_for_stop_signal()
    finally:
        await gateway.stop()
        if home is not None:
            await home.stop()
