"""The personal-data export: one JSON file per service in a zip, plus a manifest of what is in it."""

import io
import json
import zipfile
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def build_zip(user_id: str, made_at: datetime, answers: Mapping[str, Any], missing: Mapping[str, str]) -> bytes:
    """`answers`: service → its export answer; `missing`: service → why it has no file (no export route)."""
    services: dict[str, Any] = {
        name: {"file": f"{name}.json", "tables": sorted((answer.get("tables") or {}).keys())}
        for name, answer in answers.items()
    }
    services.update({name: {"file": None, "reason": reason} for name, reason in missing.items()})
    manifest = {"user_id": user_id, "generated_at": made_at.isoformat(), "services": services}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
        for name, answer in sorted(answers.items()):
            archive.writestr(f"{name}.json", json.dumps(answer, indent=2, default=str, ensure_ascii=False))
    return out.getvalue()
