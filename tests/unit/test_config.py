from pathlib import Path

import pytest

from anxin.config import CloudConfig, ConfigError, DemoConfig, EdgeConfig, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "anxin.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_values_and_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[mqtt]\nhost = "broker.local"\nport = 8883\n')
    config = load_config(CloudConfig, path, environ={})
    assert config.mqtt.host == "broker.local"
    assert config.mqtt.port == 8883
    assert config.api.port == 8080


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[mqtt]\nport = 8883\n")
    config = load_config(
        CloudConfig, path, environ={"ANXIN_MQTT__PORT": "1884", "ANXIN_API__HOST": "0.0.0.0"}
    )
    assert config.mqtt.port == 1884
    assert config.api.host == "0.0.0.0"


def test_other_processes_variables_are_ignored() -> None:
    config = load_config(
        DemoConfig, environ={"ANXIN_GATEWAY__SITE_ID": "x", "ANXIN_REQUIRE_SERVICES": "1"}
    )
    assert config.homes == 5


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[mqtt]\nprot = 1883\n")
    with pytest.raises(ConfigError) as raised:
        load_config(CloudConfig, path, environ={})
    assert "mqtt.prot" in str(raised.value)
    assert "unknown key" in str(raised.value)
    assert str(path) in str(raised.value)


def test_wrong_type_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nport = "eighty"\n')
    with pytest.raises(ConfigError, match=r"key 'api\.port'"):
        load_config(CloudConfig, path, environ={})


def test_bad_environment_value_is_named() -> None:
    with pytest.raises(ConfigError, match=r"key 'mqtt\.port'.*\n?.*") as raised:
        load_config(CloudConfig, environ={"ANXIN_MQTT__PORT": "99999"})
    assert "environment" in str(raised.value)


def test_unknown_section_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[mqqt]\nport = 1\n")
    with pytest.raises(ConfigError, match=r"key 'mqqt': unknown key"):
        load_config(CloudConfig, path, environ={})


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(CloudConfig, tmp_path / "absent.toml", environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(CloudConfig, write(tmp_path, "[mqtt\n"), environ={})


def test_edge_config_requires_identity(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"key 'gateway': Field required"):
        load_config(EdgeConfig, write(tmp_path, ""), environ={})
    config = load_config(
        EdgeConfig,
        write(
            tmp_path,
            '[gateway]\nsite_id = "home-1"\ngateway_id = "gw-1"\n'
            '[[devices]]\ndevice_id = "hr-1"\naddress = "C0:00:00:00:00:01"\nkind = "heart_rate_strap"\n',
        ),
        environ={},
    )
    assert config.devices[0].kind == "heart_rate_strap"
    assert any(rule.kind == "heart_rate_high" for rule in config.thresholds)


def test_a_malformed_bind_key_is_named(tmp_path: Path) -> None:
    text = (
        '[gateway]\nsite_id = "h"\ngateway_id = "g"\n'
        '[[devices]]\ndevice_id = "sos-1"\naddress = "C0:00:00:00:00:09"\nkind = "bthome_sos"\n'
        'bind_key = "not-hex"\n'
    )
    with pytest.raises(ConfigError, match=r"key 'devices\.0\.bind_key'"):
        load_config(EdgeConfig, write(tmp_path, text), environ={})


def test_the_status_port_is_off_by_default_and_checked(tmp_path: Path) -> None:
    identity = '[gateway]\nsite_id = "h"\ngateway_id = "g"\n'
    assert (
        load_config(EdgeConfig, write(tmp_path, identity), environ={}).gateway.status_port is None
    )
    example = Path(__file__).parents[2] / "examples" / "edge-simulated.toml"
    assert load_config(EdgeConfig, example, environ={}).gateway.status_port == 8090
    with pytest.raises(ConfigError, match=r"key 'gateway\.status_port'"):
        load_config(EdgeConfig, write(tmp_path, identity + "status_port = 70000\n"), environ={})
