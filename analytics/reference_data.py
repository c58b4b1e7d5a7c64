"""Where the public reference recordings (afdb, nsr2db, sisfall) are found.

They are not part of the project: ``ANXIN_REFERENCE_DATA`` names their folder, else
``../shared/data`` beside the source checkout is used. Tests and benchmarks that need
them skip (or say so) when the folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def reference_data_dir() -> Path:
    named = os.environ.get("ANXIN_REFERENCE_DATA")
    if named:
        return Path(named)
    return _CHECKOUT.parent / "shared" / "data"


def dataset(name: str) -> Path | None:
    """The folder of one dataset (``afdb``, ``nsr2db``, ``sisfall``), or None when absent."""
    folder = reference_data_dir() / name
    return folder if folder.is_dir() else None
