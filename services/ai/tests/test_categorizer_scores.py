"""The scorer used at prediction time computes what the fitted scikit-learn estimators compute (it only
skips their per-call checks), for the global model and for a two-label user model; the acks of a batch
leave as one frame without ever settling a delivery still open; a batch is prepared during the previous
one's commit only when nothing it reads can change."""

import asyncio
import csv
import pickle
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pfms_ai import categorize, categorizer, events
from pfms_ai.acks import BatchedAcks
from pfms_ai.inbox import MongoConsumer, _Pending, _Prepared
from pfms_ai.store import Unit
from pfms_contracts import CloudEvent
from pfms_contracts.expense import ExpenseCreated, ExpenseUpdated

TEST_SET = Path(__file__).parent / "files" / "categorisation_test_set.csv"


def _reference(model: categorizer.Model, texts: list[str]) -> np.ndarray:
    scores = model.vectorizer.transform(texts) @ model.classifier.coef_.T
    return np.asarray(scores) + model.classifier.intercept_


def test_the_scorer_matches_the_estimators_on_the_global_model() -> None:
    model = categorize._global_from_data()
    texts = [categorizer.features(r["description"]) for r in csv.DictReader(TEST_SET.open())]
    texts += ["", "zzzz", "a", "x y"]  # nothing in the vocabulary; words shorter than the n-grams
    assert np.allclose(model._scorer.scores(texts), _reference(model, texts), rtol=0, atol=1e-9)
    reference = _reference(model, texts)
    softmax = np.exp(reference - reference.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    got = model.probabilities_many(texts)
    assert np.allclose([[p[label] for label in model.labels] for p in got], softmax, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcdefghij #*-&'0123456789", max_size=40))
def test_the_scorer_matches_the_estimators_on_any_text_of_a_two_label_model(text: str) -> None:
    model = _two_labels()
    assert np.allclose(model._scorer.scores([text, "cafe"]), _reference(model, [text, "cafe"]), atol=1e-9)


def test_a_stored_model_leaves_its_scorer_out() -> None:
    model = _two_labels()
    model.probabilities("cafe")
    restored = pickle.loads(pickle.dumps(model))
    assert "_scorer" not in restored.__dict__
    assert restored.probabilities("cafe") == model.probabilities("cafe")


_models: dict[str, categorizer.Model] = {}


def _two_labels() -> categorizer.Model:
    if "two" not in _models:
        texts = [f"cafe {i}" for i in range(6)] + [f"fuel station {i}" for i in range(6)]
        _models["two"] = categorizer.train(texts, ["Coffee"] * 6 + ["Fuel"] * 6)
    return _models["two"]


class _Message:
    """What BatchedAcks reads of a delivered message, recording what reaches the broker."""

    channel = object()

    def __init__(self, tag: int, sent: list[tuple[str, int, bool]]) -> None:
        self.delivery_tag = tag
        self.sent = sent

    async def ack(self, multiple: bool = False) -> None:
        self.sent.append(("ack", self.delivery_tag, multiple))

    async def nack(self, multiple: bool = False, requeue: bool = True) -> None:
        self.sent.append(("nack", self.delivery_tag, multiple))

    async def reject(self, requeue: bool = False) -> None:
        self.sent.append(("reject", self.delivery_tag, False))


async def _settle(acks: BatchedAcks, messages: list[Any], order: list[tuple[str, int]]) -> None:
    for action, tag in order:
        await getattr(messages[tag - 1], action)()
    await asyncio.sleep(0)  # the flush
    await asyncio.sleep(0)  # the ack frames


async def test_a_batch_is_acked_with_one_frame_and_never_past_an_open_delivery() -> None:
    acks, sent = BatchedAcks(), list[tuple[str, int, bool]]()
    messages = [acks.delivered(_Message(tag, sent)) for tag in range(1, 8)]
    # 1-3 applied, 4 poison (rejected), 5 waits out its backoff, 6-7 applied (7 a duplicate)
    await _settle(acks, messages, [("ack", 1), ("ack", 2), ("reject", 4), ("ack", 3), ("ack", 6), ("ack", 7)])
    assert sent == [("reject", 4, False), ("ack", 3, True), ("ack", 6, False), ("ack", 7, False)]
    sent.clear()
    await _settle(acks, messages, [("nack", 5)])
    assert sent == [("nack", 5, False)]  # nothing was left to ack
    more = [acks.delivered(_Message(tag, sent)) for tag in range(8, 10)]
    sent.clear()
    await _settle(acks, [*messages, *more], [("ack", 9), ("ack", 8)])
    assert sent == [("ack", 9, True)]


def test_a_batch_is_prepared_during_the_previous_commit_only_when_nothing_it_reads_changes() -> None:
    consumer = MongoConsumer.__new__(MongoConsumer)
    consumer.overlap = events.reads_nothing_written
    user = uuid.uuid4()

    def pending(data: Any, event: CloudEvent | None = None) -> Any:
        return _Pending(event or CloudEvent.wrap("test", data), data, None)

    def created() -> ExpenseCreated:
        return ExpenseCreated(
            user_id=user,
            expense_id=uuid.uuid4(),
            amount=Decimal("15.49"),
            currency="USD",
            expense_date=date(2025, 3, 14),
            description="NETFLIX.COM",
        )

    first = pending(created())
    in_flight = _Prepared([first], [(first, Unit())])
    assert consumer._may_overlap([pending(created()), pending(created())], in_flight)
    assert not consumer._may_overlap([pending(created()), pending(first.data, first.event)], in_flight)  # redelivery
    assert not consumer._may_overlap([pending(created())], _Prepared([], [], _relearning()))  # a model changes
    updated = ExpenseUpdated(
        **created().model_dump(exclude={"category_id", "category_name"}),
        category_id=None,
        category_name=None,
        previous_amount=Decimal(1),
        previous_expense_date=date(2025, 3, 14),
        previous_category_id=None,
    )
    assert not consumer._may_overlap([pending(created()), pending(updated)], in_flight)


def _relearning() -> Unit:
    unit = Unit()

    async def relearn() -> None:
        return None

    unit.after_commit["model:someone"] = relearn
    return unit
