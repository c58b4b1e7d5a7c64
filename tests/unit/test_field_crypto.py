import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxin.cloud.registry.field_crypto import (
    FieldCipher,
    FieldCryptoError,
    MissingKeyError,
    mask_phone,
    mask_resident_id,
    new_key,
    require,
)
from anxin.config import CloudConfig, ConfigError, RegistryConfig, load_config

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


@given(st.text(max_size=200))
def test_round_trip(text: str) -> None:
    cipher = FieldCipher(KEY)
    token = cipher.encrypt(text)
    assert cipher.decrypt(token) == text


def test_ciphertext_names_version_and_key_and_hides_the_value() -> None:
    cipher = FieldCipher(KEY)
    token = cipher.encrypt("11010519491231002X")
    version, kid, body = token.split(":")
    assert (version, kid) == ("v1", cipher.current_key_id)
    assert "11010519491231002X" not in token and len(base64.b64decode(body)) == 12 + 18 + 16
    assert cipher.encrypt("11010519491231002X") != token  # a fresh nonce each time


def test_rotation_old_values_still_decrypt_and_are_found() -> None:
    before = FieldCipher(OTHER)
    token = before.encrypt("13812345678")
    old_index = before.blind_index("11010519491231002X")
    after = FieldCipher(KEY, [OTHER])
    assert after.decrypt(token) == "13812345678"
    assert after.needs_rekey(token) and not after.needs_rekey(after.encrypt("x"))
    assert old_index in after.blind_indexes("11010519491231002X")
    assert after.blind_index("11010519491231002X") != old_index
    with pytest.raises(FieldCryptoError, match="neither the current key"):
        FieldCipher(KEY).decrypt(token)


def test_tampered_or_malformed_ciphertext_is_refused() -> None:
    cipher = FieldCipher(KEY)
    version, kid, body = cipher.encrypt("13812345678").split(":")
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    tampered = f"{version}:{kid}:{base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(FieldCryptoError, match="altered"):
        cipher.decrypt(tampered)
    for bad, message in (
        ("13812345678", "not a 'v1:<key id>:<data>' ciphertext"),
        (f"v2:{kid}:{body}", "not a 'v1"),
        (f"v1:{kid}:not base64!", "not base64"),
        (f"v1:{kid}:AAAA", "too short"),
    ):
        with pytest.raises(FieldCryptoError, match=message):
            cipher.decrypt(bad)


def test_blind_index_is_keyed_and_stable() -> None:
    assert FieldCipher(KEY).blind_index("a") == FieldCipher(KEY).blind_index("a")
    assert FieldCipher(KEY).blind_index("a") != FieldCipher(OTHER).blind_index("a")
    assert len(FieldCipher(KEY).blind_index("a")) == 64


@pytest.mark.parametrize(
    ("number", "masked"),
    [("110105194912310021", "110105********0021"), ("11010519491231002X", "110105********002X")],
)
def test_mask_resident_id(number: str, masked: str) -> None:
    assert mask_resident_id(number) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("+8613812345678", "+86*******5678"), ("12345", "*****")],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_key_comes_from_configuration_and_environment() -> None:
    key, old = new_key(), new_key()
    config = load_config(
        CloudConfig,
        environ={
            "ANXIN_REGISTRY__ENCRYPTION_KEY": key,
            "ANXIN_REGISTRY__OLD_ENCRYPTION_KEYS": f"{old}, {old}",
        },
    )
    cipher = FieldCipher.from_settings(config.registry)
    assert cipher is not None
    assert cipher.decrypt(FieldCipher(base64.b64decode(old)).encrypt("x")) == "x"
    assert FieldCipher.from_settings(RegistryConfig()) is None
    with pytest.raises(ConfigError, match=r"registry\.encryption_key.*32 bytes"):
        load_config(CloudConfig, environ={"ANXIN_REGISTRY__ENCRYPTION_KEY": "c2hvcnQ="})
    assert key not in repr(config)


def test_missing_key_names_the_setting() -> None:
    with pytest.raises(MissingKeyError, match=r"\[registry\] encryption_key"):
        require(None, "a phone number")
