"""Pure rules of the two parties: the mirrored direction and when an answer moves a dispute."""

import uuid

from pfms_loan.domain import DisputeStatus, LoanType, Role, after_answer, mirrored


def test_the_counterparty_sees_the_direction_mirrored() -> None:
    assert mirrored(LoanType.LENT.value, Role.COUNTERPARTY) == "borrowed"
    assert mirrored(LoanType.BORROWED.value, Role.COUNTERPARTY) == "lent"
    assert mirrored(LoanType.LENT.value, Role.OWNER) == "lent"
    for kind in LoanType:
        assert mirrored(mirrored(kind.value, Role.COUNTERPARTY), Role.COUNTERPARTY) == kind.value


def test_only_the_other_partys_answer_makes_a_dispute_responded() -> None:
    raiser, other = uuid.uuid4(), uuid.uuid4()
    assert after_answer(DisputeStatus.OPEN, raiser, raiser) is DisputeStatus.OPEN
    assert after_answer(DisputeStatus.OPEN, raiser, other) is DisputeStatus.RESPONDED
    assert after_answer(DisputeStatus.RESPONDED, raiser, raiser) is DisputeStatus.RESPONDED
