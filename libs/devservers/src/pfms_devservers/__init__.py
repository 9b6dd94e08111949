"""Real infrastructure servers as plain local processes, for `make run` and the test suite."""

from pfms_devservers.servers import S3, Mongo, Postgres, RabbitMQ, Redis, Smtp, Stack, free_port

__all__ = ["S3", "Mongo", "Postgres", "RabbitMQ", "Redis", "Smtp", "Stack", "free_port"]
