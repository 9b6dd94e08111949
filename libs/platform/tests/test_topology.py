"""The exported broker topology is current and is exactly what the consumers declare themselves."""

import json
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from aiormq.exceptions import ChannelPreconditionFailed

from pfms_contracts import EXCHANGES, event_model
from pfms_devservers import Stack
from pfms_platform.catalogue import SERVICES
from pfms_platform.events import topology
from pfms_platform.events.bus import DLX, queue_arguments
from pfms_platform.events.consumer import Consumer, Handler, bindings, queue_name

REPO = Path(__file__).resolve().parents[3]
CHECKED_IN = REPO / topology.DEFAULT_PATH


async def _noop(session: Any, data: Any) -> None:
    pass


# A consumer as a real service would have one, whatever the fleet's handlers are today.
PROBE: dict[str, Handler] = {"user.created": _noop, "user.deleted": _noop}


def test_checked_in_definitions_are_current() -> None:
    fresh = topology.render(topology.definitions())
    assert CHECKED_IN.exists(), f"{topology.DEFAULT_PATH} is missing: run `make topology`"
    assert CHECKED_IN.read_text() == fresh, (
        f"{topology.DEFAULT_PATH} is stale: run `make topology` (python -m pfms_platform.events.topology)"
    )


def test_check_flag_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "definitions.json"
    assert topology.main([str(path), "--check"]) == 1
    assert "make topology" in capsys.readouterr().err
    assert topology.main([str(path)]) == 0
    assert topology.main([str(path), "--check"]) == 0
    assert json.loads(path.read_text()) == topology.definitions()


def test_every_exchange_is_durable_and_the_dlx_is_direct() -> None:
    exchanges = {x["name"]: x for x in topology.definitions({})["exchanges"]}
    assert set(exchanges) == {*EXCHANGES, DLX}
    assert all(x["durable"] and not x["auto_delete"] and x["vhost"] == "/" for x in exchanges.values())
    assert {n for n, x in exchanges.items() if x["type"] == "topic"} == set(EXCHANGES)
    assert exchanges[DLX]["type"] == "direct"


def test_queue_arguments_equal_what_the_consumer_declares() -> None:
    doc = topology.definitions({"probe": PROBE, "idle": {}})
    queues = {q["name"]: q for q in doc["queues"]}
    assert set(queues) == {"probe.events", "probe.events.dlq"}, "a service without handlers gets no queue"
    assert queues["probe.events"]["arguments"] == queue_arguments("probe.events")
    assert queues["probe.events"]["arguments"]["x-queue-type"] == "quorum"
    assert queues["probe.events.dlq"]["arguments"] == topology.DLQ_ARGUMENTS
    links = {(b["source"], b["destination"], b["routing_key"]) for b in doc["bindings"]}
    assert links == {(DLX, "probe.events.dlq", "probe.events")} | {
        (exchange, "probe.events", key) for exchange, key in bindings(PROBE)
    }
    assert all(
        event_model(key).exchange == exchange
        for exchange, _, key in links - {(DLX, "probe.events.dlq", "probe.events")}
    )


def test_every_consuming_catalogue_service_has_its_queue_and_bindings() -> None:
    doc = json.loads(CHECKED_IN.read_text())
    queues = {q["name"]: q["arguments"] for q in doc["queues"]}
    handlers = topology.service_handlers()
    assert set(handlers) <= {s.name for s in SERVICES}
    expected_queues = {queue_name(s) for s in handlers} | {topology.dlq_name(queue_name(s)) for s in handlers}
    assert set(queues) == expected_queues
    for service, service_handlers in handlers.items():
        queue = queue_name(service)
        assert queues[queue] == queue_arguments(queue)
        bound = {(b["source"], b["routing_key"]) for b in doc["bindings"] if b["destination"] == queue}
        assert bound == set(bindings(service_handlers))


@pytest.mark.integration
async def test_a_consumer_declaration_is_accepted_after_importing_the_definitions(stack: Stack) -> None:
    """Import through the management API, then declare as the consumer does: PRECONDITION_FAILED on any drift."""
    vhost = f"topo{uuid.uuid4().hex[:10]}"
    stack.rabbitmq.add_vhost(vhost)
    consumers = {**topology.service_handlers(), "probe": PROBE}
    try:
        response = httpx.post(
            f"{stack.rabbitmq.api}/definitions/{vhost}",
            auth=("guest", "guest"),
            timeout=30,
            json=topology.definitions(consumers),
        )
        assert response.status_code in (200, 201, 204), response.text
        imported = stack.rabbitmq.queue(vhost, "probe.events")
        assert imported["arguments"] == queue_arguments("probe.events")
        assert imported["type"] == "quorum"

        connection = await aio_pika.connect(stack.rabbitmq.url(vhost))
        async with connection:
            for service, handlers in consumers.items():
                channel = await connection.channel()
                # declare() touches neither the database nor the bus
                consumer = Consumer(None, None, service, handlers)
                queue = await consumer.declare(channel)
                assert queue.name == queue_name(service)
                await channel.close()
            # The control: a declaration that differs from the imported queue is refused by the broker.
            channel = await connection.channel()
            drifted = {**queue_arguments("probe.events"), "x-delivery-limit": 99}
            with pytest.raises(ChannelPreconditionFailed):
                await channel.declare_queue("probe.events", durable=True, arguments=drifted)
    finally:
        stack.rabbitmq.delete_vhost(vhost)
