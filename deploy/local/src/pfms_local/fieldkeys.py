"""Field-encryption keys for `make run`: generated once per checkout, kept beside the data they encrypt.

The databases under the run folder outlive a run, so their keys must too: `field-keys.json` in the
same folder (owner-only) holds a key and a blind-index key per service with encrypted columns.
"""

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from pfms_platform.catalogue import ServiceInfo
from pfms_platform.crypto import ENCRYPTING_SERVICES, new_key

FILE = "field-keys.json"
KID = "local1"


def field_key_env(
    var: Path, services: Iterable[ServiceInfo], environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """`PFMS_<SVC>_FIELD_KEYS` and `_FIELD_INDEX_KEY` for each encrypting service, creating missing keys
    (keys someone exported themselves are left to them)."""
    path = var / FILE
    stored: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    env: dict[str, str] = {}
    for info in services:
        if info.name not in ENCRYPTING_SERVICES or f"{info.env_prefix}FIELD_KEYS" in environ:
            continue
        keys = stored.setdefault(info.name, {"key": new_key(), "index": new_key()})
        env[f"{info.env_prefix}FIELD_KEYS"] = json.dumps({KID: keys["key"]})
        env[f"{info.env_prefix}FIELD_INDEX_KEY"] = keys["index"]
    var.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(stored, indent=2))
    return env
