"""``anxin edge provision``: redeem an enrolment token and write the gateway's configuration.

The cloud answers with the gateway's identity and a fresh broker password; they are written
to the gateway's TOML file (mode 0600: it holds the password), with the broker's CA
certificate next to it when the cloud has one. An existing file is kept unless ``force``
(then it is saved as ``<file>.bak``), and that is checked before the token is spent.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anxin.config import ConfigError, EdgeConfig, load_config
from anxin.enrolment_token import TokenError, parse_token

ENROL_PATH = "/gateways/enrol"
_REQUIRED = {
    "site_id": str,
    "gateway_id": str,
    "topic_root": str,
    "mqtt_host": str,
    "mqtt_port": int,
    "mqtt_protocol": str,
    "username": str,
    "password": str,
}


class ProvisionError(ConfigError):
    """Provisioning could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class Provisioned:
    config_path: Path
    ca_path: Path | None
    site_id: str
    gateway_id: str


def provision(
    token: str,
    config_path: Path,
    cloud_url: str | None = None,
    force: bool = False,
    timeout_s: float = 30.0,
) -> Provisioned:
    """Redeem ``token`` at the cloud (its own URL, or ``cloud_url``) and write the config."""
    try:
        parsed = parse_token(token)
    except TokenError as exc:
        raise ProvisionError(f"enrolment token refused before sending it: {exc}") from None
    if config_path.exists() and not force:
        raise ProvisionError(
            f"{config_path} already exists; pass --force to replace it (it is kept as .bak)"
        )
    api_url = (cloud_url or parsed.api_url).rstrip("/")
    answer = _redeem(api_url, token.strip(), timeout_s)
    ca_path = None
    if answer.get("ca_pem"):
        ca_path = config_path.with_name(f"{config_path.stem}-ca.pem")
        _write(ca_path, str(answer["ca_pem"]), 0o644, replace=True)
    text = render_config(answer, ca_path)
    if config_path.exists():
        backup = config_path.with_name(config_path.name + ".bak")
        _write(backup, config_path.read_text(encoding="utf-8"), 0o600, replace=True)
    _write(config_path, text, 0o600, replace=force)
    load_config(EdgeConfig, config_path, environ={})  # what was written must load
    return Provisioned(config_path, ca_path, answer["site_id"], answer["gateway_id"])


def _redeem(api_url: str, token: str, timeout_s: float) -> dict[str, Any]:
    request = urllib.request.Request(
        api_url + ENROL_PATH,
        data=json.dumps({"token": token}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ProvisionError(
            f"the cloud at {api_url} refused the token ({exc.code}): {_reason(exc)}"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProvisionError(
            f"could not reach the cloud at {api_url}: {reason} (check the address, or "
            "pass --cloud URL)"
        ) from None
    except json.JSONDecodeError:
        raise ProvisionError(f"the cloud at {api_url} did not answer JSON") from None
    if not isinstance(answer, dict):
        raise ProvisionError(f"the cloud at {api_url} answered something other than an object")
    for key, kind in _REQUIRED.items():
        if not isinstance(answer.get(key), kind):
            raise ProvisionError(f"the cloud's answer lacks '{key}' ({kind.__name__})")
    return answer


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return str(exc.reason)


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, except DEL must be escaped too)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def render_config(answer: dict[str, Any], ca_path: Path | None) -> str:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [
        f"# Written by `anxin edge provision` at {stamp} from an enrolment token.",
        "# It holds the gateway's broker password: keep it readable by the gateway only.",
        "",
        "[gateway]",
        f"site_id = {toml_string(answer['site_id'])}",
        f"gateway_id = {toml_string(answer['gateway_id'])}",
        f"topic_root = {toml_string(answer['topic_root'])}",
        "",
        "[mqtt]",
        f"host = {toml_string(answer['mqtt_host'])}",
        f"port = {int(answer['mqtt_port'])}",
        f"protocol = {toml_string(answer['mqtt_protocol'])}",
        f"username = {toml_string(answer['username'])}",
        f"password = {toml_string(answer['password'])}",
    ]
    if ca_path is not None:
        lines.append(f"tls_ca_file = {toml_string(str(ca_path.resolve()))}")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str, mode: int, replace: bool) -> None:
    """Write through a temporary file created with ``mode``, so the secret is never readable
    by others, not even for a moment; without ``replace`` an existing file is never clobbered."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # fails if the file appeared meanwhile
            except FileExistsError:
                raise ProvisionError(f"{path} already exists; pass --force to replace it") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
