"""Price-alert rules (pure): when an alert fires."""

from decimal import Decimal

HUNDRED = Decimal(100)


def fires(condition: str, threshold: Decimal, reference: Decimal | None, price: Decimal) -> bool:
    """above: price at or over the threshold; below: at or under; move_percent: the price moved at least
    `threshold` % (either way) from the reference price the alert was set at."""
    if condition == "above":
        return price >= threshold
    if condition == "below":
        return price <= threshold
    if condition == "move_percent":
        if reference is None or reference <= 0:
            return False
        return abs(price - reference) / reference * HUNDRED >= threshold
    raise ValueError(f"unknown condition {condition}")
