"""A sound on the gateway itself when an alert is raised: somebody in the home hears it,
whether or not the internet, the cloud or the home network works.

The tones are made here as WAV files and played by a command (``aplay`` from alsa-utils
by default, any player that takes a file path). Critical alerts (SOS, fall, long lie) play
a fast, high three-tone pattern, repeated; lower severities a single soft two-tone chime.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import wave
from collections import Counter
from pathlib import Path

import numpy as np

from anxin.analytics.alerts import SEVERITIES
from anxin.protocol import AlertMessage
from anxin.runtime import cancel_and_wait

log = logging.getLogger(__name__)

RATE_HZ = 16_000
PENDING_LIMIT = 5  # alarms waiting for the player; more at once are one emergency anyway

# (frequency Hz, seconds) per note, then how often the pattern plays.
PATTERNS: dict[str, tuple[tuple[tuple[float, float], ...], int]] = {
    "critical": (((1046.5, 0.18), (1318.5, 0.18), (1568.0, 0.30), (0.0, 0.25)), 3),
    "chime": (((880.0, 0.25), (659.3, 0.45)), 1),
}


def tone(notes: tuple[tuple[float, float], ...], repeats: int) -> np.ndarray:
    """16-bit mono samples; each note fades in and out over 10 ms so it does not click."""
    parts = []
    for frequency, seconds in notes:
        t = np.arange(int(RATE_HZ * seconds)) / RATE_HZ
        note = np.sin(2 * np.pi * frequency * t) if frequency else np.zeros_like(t)
        ramp = min(len(t) // 2, int(0.01 * RATE_HZ))
        if ramp:
            envelope = np.ones_like(t)
            envelope[:ramp] = np.linspace(0, 1, ramp)
            envelope[-ramp:] = np.linspace(1, 0, ramp)
            note = note * envelope
        parts.append(note)
    samples = np.tile(np.concatenate(parts), repeats)
    return (samples * 0.8 * 32767).astype("<i2")


def write_wav(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE_HZ)
        out.writeframes(samples.tobytes())


class AlarmSound:
    """Plays the alarm for each alert at or above ``min_severity``, one at a time."""

    def __init__(self, player: str, sound_dir: Path, min_severity: str = "high") -> None:
        self.command = shlex.split(player)
        if not self.command:
            raise ValueError("alarm player command is empty")
        self.min_rank = SEVERITIES.index(min_severity)  # type: ignore[arg-type]
        self.files = {name: sound_dir / f"alarm-{name}.wav" for name in PATTERNS}
        self.counters: Counter[str] = Counter()  # played, failed, dropped
        self._pending: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def notify(self, alert: AlertMessage) -> None:
        if SEVERITIES.index(alert.severity) < self.min_rank:
            return
        if self._pending.qsize() >= PENDING_LIMIT:
            self.counters["dropped"] += 1
            return
        self._pending.put_nowait("critical" if alert.severity == "critical" else "chime")

    async def start(self) -> None:
        for name, path in self.files.items():
            write_wav(path, tone(*PATTERNS[name]))
        self._task = asyncio.create_task(self._run(), name="alarm-sound")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            pattern = await self._pending.get()
            if await self._play(self.files[pattern]):
                self.counters["played"] += 1
            else:
                self.counters["failed"] += 1

    async def _play(self, path: Path) -> bool:
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command,
                str(path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            log.error("alarm player %r cannot start: %s", self.command[0], exc)
            return False
        try:
            _, stderr = await process.communicate()
        except asyncio.CancelledError:
            process.kill()
            raise
        if process.returncode != 0:
            detail = stderr.decode(errors="replace").strip()[-300:]
            log.error("alarm player exited with %d: %s", process.returncode, detail)
            return False
        return True
