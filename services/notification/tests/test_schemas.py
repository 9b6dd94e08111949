"""Response models document what the JSON carries (fuzzing checks every answer against them)."""

import re
from datetime import time

from pfms_notification.schemas import SettingsOut


def test_quiet_hours_are_documented_as_the_local_times_they_are() -> None:
    """`format: time` demands an offset that a local quiet hour never has: fuzzing found every answer off-schema."""
    schema = SettingsOut.model_json_schema()["properties"]["quiet_hours"]["anyOf"][0]["additionalProperties"]
    body = SettingsOut(timezone="UTC", quiet_hours={"start": time(21, 8), "end": time(7)}, digest=False)
    for value in body.model_dump(mode="json")["quiet_hours"].values():
        assert re.fullmatch(schema["pattern"], value), value
    assert "format" not in schema
