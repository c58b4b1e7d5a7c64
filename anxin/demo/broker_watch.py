"""Notices when the demo's embedded MQTT broker stops serving.

The broker (rumqttd, from the ``iotcore`` wheel) runs in a child process. When its router
thread panics, the process stays up and the kernel still accepts TCP connections, but no
MQTT client gets an answer again: ``Broker.is_running`` cannot tell. So the watch asks the
broker for a CONNACK every few seconds, as any client would.
"""

from __future__ import annotations

import asyncio

from iotcore import Broker

PROBE_INTERVAL_S = 2.0
PROBE_TIMEOUT_S = 3.0
# One slow answer on a busy machine is not a dead broker.
FAILURES_BEFORE_GONE = 3
# One fixed id: the broker keeps a little state per client id it has seen.
PROBE_CLIENT_ID = b"anxin-demo-broker-watch"
_KEEPALIVE_S = 10
_CONNACK_ACCEPTED = b"\x20\x02\x00\x00"
_DISCONNECT = b"\xe0\x00"


def connect_packet(client_id: bytes = PROBE_CLIENT_ID) -> bytes:
    """An MQTT 3.1.1 CONNECT with a clean session."""
    variable_header = b"\x00\x04MQTT\x04\x02" + _KEEPALIVE_S.to_bytes(2, "big")
    payload = len(client_id).to_bytes(2, "big") + client_id
    remaining = len(variable_header) + len(payload)
    if remaining > 127:
        raise ValueError(f"client id of {len(client_id)} bytes is too long for this probe")
    return bytes([0x10, remaining]) + variable_header + payload


async def connect_problem(host: str, port: int, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """What went wrong connecting to the broker, or None when it accepted the CONNECT."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(connect_packet())
            await writer.drain()
            answer = await reader.readexactly(len(_CONNACK_ACCEPTED))
            if answer != _CONNACK_ACCEPTED:
                return f"it answered CONNECT with {answer.hex(' ')}, not an accepting CONNACK"
            writer.write(_DISCONNECT)
            await writer.drain()
            return None
    except TimeoutError:
        return f"it does not answer an MQTT CONNECT within {timeout_s:g} s"
    except asyncio.IncompleteReadError:
        return "it closed the connection instead of answering an MQTT CONNECT"
    except OSError as exc:
        return f"it cannot be reached: {exc}"
    finally:
        if writer is not None:
            writer.close()


async def broker_answers(host: str, port: int, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    return await connect_problem(host, port, timeout_s) is None


async def wait_until_broker_gone(
    broker: Broker,
    host: str,
    interval_s: float = PROBE_INTERVAL_S,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> str:
    """Returns, saying why, once the broker process has exited or the broker has failed
    FAILURES_BEFORE_GONE probes in a row."""
    failures = 0
    while True:
        if not broker.is_running:
            return "its process exited"
        problem = await connect_problem(host, broker.port, timeout_s)
        failures = 0 if problem is None else failures + 1
        if problem is not None and failures >= FAILURES_BEFORE_GONE:
            return problem
        await asyncio.sleep(interval_s)
