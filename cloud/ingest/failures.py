"""Telling a store that is down from a message that cannot be stored.

A store that is down (refused or timed-out connections, a server error) leaves every
message unacknowledged, to be stored when it is back. Any other error storing a message is
the message's own: it is tried alone a few times and then kept aside as a dead letter, so
that one message never holds up the rest.
"""

from __future__ import annotations

from sqlalchemy import exc as sql

from anxin.cloud.ingest.influx import InfluxError

# A message that fails to store alone this many times is set aside as a dead letter.
MAX_STORE_ATTEMPTS = 3


def store_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says a store is unreachable or failing, not that a message is bad."""
    if isinstance(error, OSError):
        return True
    if isinstance(error, InfluxError):
        # No answer at all, or a server error; a 4xx is InfluxDB refusing the data itself.
        return error.status is None or error.status >= 500 or error.status == 429
    if isinstance(error, sql.DBAPIError) and error.connection_invalidated:
        return True
    # OperationalError: connection lost or refused, server shutting down, disk full, a
    # locked SQLite file; the pool's own timeout and disconnections are the same.
    return isinstance(
        error, sql.OperationalError | sql.InterfaceError | sql.DisconnectionError | sql.TimeoutError
    )
