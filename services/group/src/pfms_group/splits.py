"""Who owes what of one expense: pure allocation in the currency's minor units (no I/O).

Every amount is handled as an integer count of minor units (cents for USD, yen for JPY), and every
allocation is largest-remainder: floor each exact share, then hand the units left over to the
largest fractional parts, ties to the lower member id. So shares always add up to the amount, none
is negative, and the same input always gives the same answer.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from pfms_finance.currency import minor_units

HUNDRED = Decimal(100)


class SplitType(StrEnum):
    EQUAL = "equal"
    UNEQUAL = "unequal"
    PERCENTAGE = "percentage"
    WEIGHT = "weight"
    CUSTOM = "custom"


class SplitError(ValueError):
    """The split does not describe the amount; `field` names the request field at fault."""

    def __init__(self, message: str, field: str = "participants") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Participant:
    """One line of a split request; which of `amount`, `percentage`, `weight` counts depends on the type."""

    user_id: uuid.UUID
    amount: Decimal | None = None
    percentage: Decimal | None = None
    weight: Decimal | None = None


def to_minor(amount: Decimal, currency: str) -> int:
    """`amount` in minor units; refuses amounts finer than the currency allows."""
    scaled = amount.scaleb(minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise SplitError(f"{amount} has more decimals than {currency} allows", "amount")
    return int(scaled)


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-minor_units(currency))


def allocate(total: int, weights: Mapping[uuid.UUID, Fraction | Decimal | int]) -> dict[uuid.UUID, int]:
    """Split `total` minor units in proportion to `weights` (largest remainder, ties by id)."""
    if total < 0:
        raise SplitError("amount must not be negative", "amount")
    exact = {key: Fraction(w) for key, w in weights.items()}
    if any(w < 0 for w in exact.values()):
        raise SplitError("weights must not be negative")
    whole = sum(exact.values(), Fraction(0))
    if whole == 0:
        if total == 0:
            return dict.fromkeys(exact, 0)
        raise SplitError("at least one participant must carry a share")
    shares: dict[uuid.UUID, int] = {}
    remainders: list[tuple[Fraction, uuid.UUID]] = []
    for key, weight in exact.items():
        share = total * weight / whole
        shares[key] = share.numerator // share.denominator
        remainders.append((share - shares[key], key))
    left = total - sum(shares.values())
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, key in remainders[:left]:
        shares[key] += 1
    return shares


def _unique(participants: Sequence[Participant]) -> None:
    if not participants:
        raise SplitError("at least one participant is needed")
    if len({p.user_id for p in participants}) != len(participants):
        raise SplitError("each member may appear once")


def _required(value: Decimal | None, name: str, index: int) -> Decimal:
    if value is None:
        raise SplitError(f"{name} is required for this split type", f"participants.{index}.{name}")
    if value < 0:
        raise SplitError(f"{name} must not be negative", f"participants.{index}.{name}")
    return value


def split(
    total: int, split_type: SplitType, participants: Sequence[Participant], currency: str
) -> dict[uuid.UUID, int]:
    """Each participant's share of `total` minor units.

    equal: the same for all; unequal: the exact `amount` each, which must add up to the total;
    percentage: `percentage` each, adding up to 100; weight: in proportion to `weight` (shares);
    custom: those with an `amount` owe it, the rest share what is left in proportion to `weight`
    (1 when not given).
    """
    _unique(participants)
    if split_type is SplitType.EQUAL:
        return allocate(total, {p.user_id: 1 for p in participants})
    if split_type is SplitType.UNEQUAL:
        fixed = {p.user_id: to_minor(_required(p.amount, "amount", i), currency) for i, p in enumerate(participants)}
        if sum(fixed.values()) != total:
            raise SplitError(f"amounts add up to {from_minor(sum(fixed.values()), currency)}, not the expense amount")
        return fixed
    if split_type is SplitType.PERCENTAGE:
        percentages = {p.user_id: _required(p.percentage, "percentage", i) for i, p in enumerate(participants)}
        if sum(percentages.values()) != HUNDRED:
            raise SplitError("percentages must add up to 100")
        return allocate(total, percentages)
    if split_type is SplitType.WEIGHT:
        weights = {p.user_id: _required(p.weight, "weight", i) for i, p in enumerate(participants)}
        return allocate(total, weights)
    return _custom(total, participants, currency)


def _custom(total: int, participants: Sequence[Participant], currency: str) -> dict[uuid.UUID, int]:
    fixed: dict[uuid.UUID, int] = {}
    rest: dict[uuid.UUID, Decimal] = {}
    for i, p in enumerate(participants):
        if p.amount is not None:
            fixed[p.user_id] = to_minor(_required(p.amount, "amount", i), currency)
        else:
            rest[p.user_id] = Decimal(1) if p.weight is None else _required(p.weight, "weight", i)
    left = total - sum(fixed.values())
    if left < 0:
        raise SplitError("fixed amounts exceed the expense amount")
    if not rest and left:
        raise SplitError("fixed amounts must add up to the expense amount when nobody shares the rest")
    return {**fixed, **allocate(left, rest)} if rest else fixed


def rescale(shares: Mapping[uuid.UUID, int], total: int) -> dict[uuid.UUID, int]:
    """The same split of a converted amount: `total` allocated in proportion to the original shares."""
    if sum(shares.values()) == 0:
        return dict.fromkeys(shares, 0) if total == 0 else allocate(total, dict.fromkeys(shares, 1))
    return allocate(total, shares)


def debts(shares: Mapping[uuid.UUID, int], paid: Mapping[uuid.UUID, int]) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """Who owes which payer how much for one expense: {(debtor, creditor): units}, nobody owing themself.

    Each participant's share is spread over the payers in proportion to what they paid; the floors
    are topped up along both sorted lists (north-west corner on the small leftovers), so that every
    share and every payment is matched exactly.
    """
    total = sum(paid.values())
    if sum(shares.values()) != total:
        raise SplitError("payments must add up to the expense amount", "payers")
    debtors = sorted(k for k, v in shares.items() if v)
    payers = sorted(k for k, v in paid.items() if v)
    cell: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for d in debtors:
        for p in payers:
            cell[(d, p)] = shares[d] * paid[p] // total
    row_left = [shares[d] - sum(cell[(d, p)] for p in payers) for d in debtors]
    col_left = [paid[p] - sum(cell[(d, p)] for d in debtors) for p in payers]
    i = j = 0
    while i < len(debtors) and j < len(payers):
        step = min(row_left[i], col_left[j])
        cell[(debtors[i], payers[j])] += step
        row_left[i] -= step
        col_left[j] -= step
        if row_left[i] == 0:
            i += 1
        else:
            j += 1
    return {key: units for key, units in cell.items() if units and key[0] != key[1]}
