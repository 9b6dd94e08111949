"""`make run` generates field-encryption keys once per run folder and hands each service its own."""

import json
import stat
from pathlib import Path

from pfms_local.fieldkeys import FILE, field_key_env
from pfms_platform.catalogue import SERVICES
from pfms_platform.crypto import ENCRYPTING_SERVICES
from pfms_platform.settings import ServiceSettings


def test_keys_are_generated_once_kept_private_and_differ_per_service(tmp_path: Path) -> None:
    first = field_key_env(tmp_path, SERVICES, environ={})
    assert field_key_env(tmp_path, SERVICES, environ={}) == first, "the same keys on every run"
    assert stat.S_IMODE((tmp_path / FILE).stat().st_mode) == 0o600
    keys = {name: first[f"PFMS_{name.upper()}_FIELD_KEYS"] for name in ENCRYPTING_SERVICES}
    assert len(set(keys.values())) == len(keys)
    assert not any(k.startswith("PFMS_TAX_") for k in first), "only services with encrypted columns"
    for name, value in keys.items():
        ring = ServiceSettings(service_name=name, field_keys=json.loads(value)).field_keyring()
        assert ring.current == "local1"


def test_keys_someone_exported_are_left_alone(tmp_path: Path) -> None:
    env = field_key_env(tmp_path, SERVICES, environ={"PFMS_USER_FIELD_KEYS": "{}"})
    assert "PFMS_USER_FIELD_KEYS" not in env and "PFMS_LOAN_FIELD_KEYS" in env
