"""The [mqtt] section: protocol choice, TLS files and reconnect figures, checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from anxin.config import CloudConfig, ConfigError, load_config


def load(tmp_path: Path, mqtt_lines: str) -> CloudConfig:
    path = tmp_path / "cloud.toml"
    path.write_text(f"[mqtt]\n{mqtt_lines}\n", encoding="utf-8")
    return load_config(CloudConfig, path, environ={})


def test_the_protocol_is_chosen_with_the_broker_unless_forced(tmp_path: Path) -> None:
    assert load(tmp_path, "").mqtt.protocol == "auto"
    assert load(tmp_path, 'protocol = "3.1.1"').mqtt.protocol == "3.1.1"
    with pytest.raises(ConfigError, match=r"key 'mqtt\.protocol'"):
        load(tmp_path, 'protocol = "4"')


def test_a_client_certificate_comes_with_its_key_and_a_ca(tmp_path: Path) -> None:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    config = load(
        tmp_path,
        f'tls_ca_file = "{tmp_path}/ca.pem"\ntls_cert_file = "{tmp_path}/cert.pem"\n'
        f'tls_key_file = "{tmp_path}/key.pem"',
    )
    assert config.mqtt.tls_key_file == tmp_path / "key.pem"
    with pytest.raises(ConfigError, match="tls_cert_file and tls_key_file must be given together"):
        load(tmp_path, f'tls_ca_file = "{tmp_path}/ca.pem"\ntls_cert_file = "{tmp_path}/cert.pem"')
    with pytest.raises(ConfigError, match="tls_cert_file needs tls_ca_file"):
        load(
            tmp_path, f'tls_cert_file = "{tmp_path}/cert.pem"\ntls_key_file = "{tmp_path}/key.pem"'
        )


@pytest.mark.parametrize("key", ["tls_ca_file", "tls_cert_file", "tls_key_file"])
def test_a_missing_tls_file_is_named(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=f"key 'mqtt.{key}': .*file not found: .*nowhere.pem"):
        load(tmp_path, f'{key} = "{tmp_path}/nowhere.pem"')


def test_reconnect_backoff_figures_are_checked(tmp_path: Path) -> None:
    config = load(tmp_path, "reconnect_min_s = 2\nreconnect_max_s = 60")
    assert (config.mqtt.reconnect_min_s, config.mqtt.reconnect_max_s) == (2, 60)
    with pytest.raises(ConfigError, match="reconnect_min_s must not exceed reconnect_max_s"):
        load(tmp_path, "reconnect_min_s = 90")
