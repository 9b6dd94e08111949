"""Real infrastructure servers as plain local processes, for `make run` and the test suite."""

from pfms_devservers.servers import Mongo, Postgres, RabbitMQ, Redis, Stack, free_port

__all__ = ["Mongo", "Postgres", "RabbitMQ", "Redis", "Stack", "free_port"]
