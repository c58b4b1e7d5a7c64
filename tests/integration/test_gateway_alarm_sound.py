"""The gateway's own alarm: an SOS press plays the critical pattern through the configured
player, with no broker reachable; lower severities chime or stay silent; a broken player
is counted and loses no alert."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from anxin.config import GatewayConfig
from anxin.edge.alarm_sound import RATE_HZ, AlarmSound
from anxin.edge.gateway import Gateway
from anxin.edge.radio import BumbleRadio
from anxin.protocol import AlertMessage
from tests.conftest import free_port
from tests.integration.test_gateway_status import gateway_config, home_with_strap_and_button
from tests.support.waiting import eventually

RECORDER = """
import shutil, sys, time
shutil.copy(sys.argv[2], f"{sys.argv[1]}/{time.monotonic_ns()}-" + sys.argv[2].rsplit("/", 1)[-1])
"""


def recording_player(tmp_path: Path) -> tuple[str, Path]:
    """A player that keeps a copy of every file it is asked to play."""
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER, encoding="utf-8")
    played = tmp_path / "played"
    played.mkdir()
    return f"{sys.executable} {script} {played}", played


def loudest_frequencies(path: Path, count: int) -> list[float]:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE_HZ)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    spectrum = np.abs(np.fft.rfft(samples))
    frequencies = np.fft.rfftfreq(len(samples), 1 / RATE_HZ)
    peaks: list[float] = []
    for index in np.argsort(spectrum)[::-1]:
        if all(abs(frequencies[index] - p) > 50 for p in peaks):
            peaks.append(float(frequencies[index]))
        if len(peaks) == count:
            return sorted(peaks)
    return sorted(peaks)


def alert(kind: str, severity: str) -> AlertMessage:
    return AlertMessage(
        site_id="s",
        gateway_id="g",
        seq=0,
        device_id="d",
        kind=kind,
        severity=severity,  # type: ignore[arg-type]
        raised_at_ms=1_700_000_000_000,
        message="",
    )


async def test_an_sos_sounds_the_critical_alarm_with_no_broker(
    topic_root: str, tmp_path: Path
) -> None:
    player, played = recording_player(tmp_path)
    home = home_with_strap_and_button()
    await home.start()
    config = gateway_config(home, ("127.0.0.1", free_port()), topic_root, tmp_path / "q.sqlite")
    settings = config.gateway.model_dump() | {"alarm_player": player}
    config = config.model_copy(update={"gateway": GatewayConfig(**settings)})
    gateway = Gateway(config, BumbleRadio(home.link))
    await gateway.start()
    try:
        sos = next(d for d in home.devices if d.device_id == "sos")
        await sos.press("long_press")  # type: ignore[attr-defined]
        await eventually(lambda: list(played.iterdir()), 30, what="the alarm played")
    finally:
        await gateway.stop()
        await home.stop()
    (sound,) = played.iterdir()
    assert sound.name.endswith("alarm-critical.wav")
    # C6, E6, G6: the rising three-tone pattern, three times over.
    assert [round(f, -1) for f in loudest_frequencies(sound, 3)] == [1050, 1320, 1570]
    with wave.open(str(sound)) as wav:
        assert 2.5 < wav.getnframes() / RATE_HZ < 3.0
    assert gateway.queue.depth() >= 1  # and the alert still waits for the cloud


async def test_severity_picks_the_sound_and_a_broken_player_is_counted(tmp_path: Path) -> None:
    player, played = recording_player(tmp_path)
    alarm = AlarmSound(player, tmp_path / "sounds", min_severity="high")
    await alarm.start()
    try:
        alarm.notify(alert("battery_low", "low"))
        alarm.notify(alert("heart_rate_high", "high"))
        await eventually(lambda: alarm.counters["played"] == 1, what="the chime")
    finally:
        await alarm.stop()
    (chime,) = played.iterdir()
    assert chime.name.endswith("alarm-chime.wav")
    assert [round(f, -1) for f in loudest_frequencies(chime, 2)] == [660, 880]

    missing = AlarmSound("/nonexistent/player --loud", tmp_path / "sounds")
    failing = AlarmSound(f"{sys.executable} -c 'import sys; sys.exit(3)'", tmp_path / "sounds")
    for broken in (missing, failing):
        await broken.start()
        try:
            broken.notify(alert("sos", "critical"))
            broken.notify(alert("fall", "critical"))
            await eventually(lambda b=broken: b.counters["failed"] == 2, what="both failures")
        finally:
            await broken.stop()


def test_an_empty_player_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        AlarmSound("  ", tmp_path)
