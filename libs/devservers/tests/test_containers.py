"""Where a Docker engine exists the tests run the same servers as containers; the interface holds."""

from pathlib import Path

import pytest

from pfms_devservers import Stack
from pfms_devservers.containers import DockerMongo, DockerPostgres, DockerRabbitMQ, DockerRedis, docker_available
from pfms_platform.testing.fixtures import _use_docker


def test_container_stack_keeps_the_local_interface(tmp_path: Path) -> None:
    stack = Stack.create(tmp_path, docker=True, ports={"postgres": 45432, "rabbitmq": 45672, "rabbitmq_mgmt": 45673})
    assert isinstance(stack.postgres, DockerPostgres) and stack.postgres.image.startswith("postgres:")
    assert isinstance(stack.rabbitmq, DockerRabbitMQ) and stack.rabbitmq.extra_ports == {15672: 45673}
    assert isinstance(stack.redis, DockerRedis) and isinstance(stack.mongo, DockerMongo)
    assert stack.postgres.url("pfms_user") == "postgresql+asyncpg://postgres@127.0.0.1:45432/pfms_user"
    assert stack.rabbitmq.url("v1") == "amqp://guest:guest@127.0.0.1:45672/v1"
    assert stack.rabbitmq.api == "http://127.0.0.1:45673/api"
    assert stack.redis.url(3).endswith("/3") and stack.mongo.url().startswith("mongodb://127.0.0.1:")
    assert stack.postgres.run_as is None and stack.rabbitmq.run_as is None  # no system users in containers


def test_server_choice_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PFMS_TEST_SERVERS", "local")
    assert _use_docker() is False
    monkeypatch.setenv("PFMS_TEST_SERVERS", "docker")
    assert _use_docker() is True
    monkeypatch.setenv("PFMS_TEST_SERVERS", "auto")
    assert _use_docker() is docker_available()
    monkeypatch.setenv("PFMS_TEST_SERVERS", "kubernetes")
    with pytest.raises(ValueError):
        _use_docker()
