"""Ports and folders come from the environment; JSON log lines become short readable ones."""

import io
import json
from pathlib import Path

import pytest

from pfms_local.config import SERVER_PORTS, RunConfig, select
from pfms_local.fleet import wait_for
from pfms_local.logs import Console, Files, Tee, pretty


def test_defaults_are_fixed_non_standard_ports_under_dot_var() -> None:
    cfg = RunConfig.from_env({})
    assert cfg.servers == SERVER_PORTS
    assert cfg.var.name == ".var"
    assert cfg.gateway_port == 3000
    assert [s.port for s in cfg.services][:2] == [3001, 3002]
    assert all(port not in (5432, 5672, 6379, 27017) for port in cfg.servers.values())


def test_every_port_and_the_folder_can_be_overridden(tmp_path: Path) -> None:
    env = {
        "PFMS_RUN_POSTGRES_PORT": "6543",
        "PFMS_RUN_RABBITMQ_MGMT_PORT": "16000",
        "PFMS_RUN_DIR": str(tmp_path),
        "PFMS_RUN_GATEWAY_PORT": "8000",
        "PFMS_RUN_ONLY": "user,auth",
    }
    cfg = RunConfig.from_env(env)
    assert cfg.servers["postgres"] == 6543 and cfg.servers["rabbitmq_mgmt"] == 16000
    assert cfg.var == tmp_path.resolve()
    assert cfg.gateway_port == 8000
    assert [s.name for s in cfg.services] == ["auth", "user"]
    assert [s.name for s in RunConfig.from_env(env, only="savings").services] == ["savings"]


def test_bad_values_are_refused_with_a_message() -> None:
    with pytest.raises(SystemExit, match="PFMS_RUN_REDIS_PORT"):
        RunConfig.from_env({"PFMS_RUN_REDIS_PORT": "redis"})
    with pytest.raises(SystemExit, match="unknown service"):
        select("auth,nope")


def test_json_log_lines_read_like_prose() -> None:
    line = json.dumps(
        {
            "service": "user",
            "event": "service started",
            "level": "info",
            "timestamp": "2026-11-25T22:16:44.123Z",
            "port": 3002,
        }
    )
    assert pretty(line) == "22:16:44 INFO  service started  port=3002"
    assert pretty("plain text") == "plain text"
    assert pretty("{not json") == "{not json"
    with_error = pretty(json.dumps({"event": "boom", "level": "error", "exception": "Traceback..."}))
    assert with_error.endswith("\nTraceback...")


def test_console_prefixes_every_line_and_files_keep_them(tmp_path: Path) -> None:
    out = io.StringIO()
    files = Files(tmp_path)
    sink = Tee(Console(["run", "notification"], stream=out), files)
    sink.line("run", "one\ntwo")
    sink.close()
    assert out.getvalue() == "[run]          one\n[run]          two\n"
    assert files.tail("run") == "one\ntwo"


async def test_wait_for_returns_the_value_or_says_what_failed_last() -> None:
    calls = iter([None, 0, "there"])
    assert await wait_for(lambda: next(calls), timeout=5, interval=0.01) == "there"

    async def broken() -> bool:
        raise ValueError("not yet")

    with pytest.raises(TimeoutError, match=r"ready.*ValueError"):
        await wait_for(broken, timeout=0.1, interval=0.01, message="ready")
