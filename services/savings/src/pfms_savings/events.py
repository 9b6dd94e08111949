"""Events the savings service consumes: auto-save rules fire on expenses and income, other services ask
for contributions, expenses feed the emergency-fund read model, a deleted user is purged.

Every handler is idempotent beyond the platform's inbox (which drops a redelivered event id): an
automatic contribution is unique per (rule, source) and a requested one per request id, so a second
event about the same expense or income, or the same request sent twice, records nothing more.
Amounts in another currency than the goal's are not converted: the rule skips them (documented).
Rules follow their goal's scope: an expense or income of a shared space (its `space_id`) moves the rules on
that space's goals, a personal one the person's personal rules. The spaces read model comes from
`space.membership_changed`; a deleted space takes its goals with it.
"""

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated
from pfms_contracts.identity import UserDeleted
from pfms_contracts.income import IncomeReceived
from pfms_contracts.savings import SavingsContributionRequested
from pfms_finance.currency import quantize
from pfms_platform.errors import AppError, Conflict, Invalid, NotFound
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger
from pfms_platform.spaces import Scope, forget_member, role_in, space_handlers, space_of
from pfms_savings import domain, store
from pfms_savings.domain import EntryKind, EntrySource, GoalStatus, RuleKind
from pfms_savings.models import SpendingFact

log = get_logger(__name__)


def _remembered(data: ExpenseCreated | ExpenseUpdated) -> Insert | None:
    """The upsert of the expense into the read model; a tombstone (deleted) stays deleted. None for a shared
    space's expense: the space's spending, not the person's, which the personal emergency fund leaves out."""
    if space_of(data) is not None:
        return None
    values = {"amount": data.amount, "currency": data.currency, "expense_date": data.expense_date}
    return (
        insert(SpendingFact)
        .values(expense_id=data.expense_id, user_id=data.user_id, **values)
        .on_conflict_do_update(
            index_elements=[SpendingFact.expense_id], set_=values, where=SpendingFact.deleted.is_(False)
        )
    )


async def _remember_expense(session: AsyncSession, data: ExpenseCreated | ExpenseUpdated) -> None:
    if (upsert := _remembered(data)) is not None:
        await session.execute(upsert)


async def on_expense_created(session: AsyncSession, data: ExpenseCreated) -> None:
    """Read model, then each round-up rule saves the change up to its unit (nothing for an exact multiple);
    the read model's upsert goes in the rules' statement."""
    if data.amount <= 0:
        await _remember_expense(session, data)
        return
    space_id = space_of(data)
    rules = await store.active_rules(
        session, data.user_id, space_id, RuleKind.ROUND_UP, data.currency, along=_remembered(data)
    )
    for rule, goal in rules:
        assert rule.round_up_unit is not None
        top_up = quantize(domain.round_up(data.amount, rule.round_up_unit), goal.currency)
        if top_up > 0:
            await store.record(
                session,
                goal,
                store.Entry(
                    EntryKind.CONTRIBUTION,
                    top_up,
                    data.expense_date,
                    EntrySource.ROUND_UP,
                    rule.id,
                    str(data.expense_id),
                    f"Round-up of {data.amount} {data.currency}",
                    by=data.user_id,
                ),
            )


async def on_expense_updated(session: AsyncSession, data: ExpenseUpdated) -> None:
    """Only the read model moves: a round-up already saved stays saved."""
    await _remember_expense(session, data)


async def on_expense_deleted(session: AsyncSession, data: ExpenseDeleted) -> None:
    await session.execute(
        insert(SpendingFact)
        .values(
            expense_id=data.expense_id,
            user_id=data.user_id,
            amount=data.amount,
            currency=data.currency,
            expense_date=data.expense_date,
            deleted=True,
        )
        .on_conflict_do_update(index_elements=[SpendingFact.expense_id], set_={"deleted": True})
    )


async def on_income_received(session: AsyncSession, data: IncomeReceived) -> None:
    """Each income-percentage rule saves its share of the net amount, rounded down to the minor unit."""
    if data.net_amount <= 0:
        return
    rules = await store.active_rules(session, data.user_id, data.space_id, RuleKind.INCOME_PERCENT, data.currency)
    for rule, goal in rules:
        assert rule.percent is not None
        share = domain.percent_of(data.net_amount, rule.percent, goal.currency)
        if share > 0:
            await store.record(
                session,
                goal,
                store.Entry(
                    EntryKind.CONTRIBUTION,
                    share,
                    data.received_date,
                    EntrySource.INCOME_PERCENT,
                    rule.id,
                    str(data.income_id),
                    f"{rule.percent.normalize():f} % of income {data.net_amount} {data.currency}",
                    by=data.user_id,
                ),
            )


async def on_contribution_requested(session: AsyncSession, data: SavingsContributionRequested) -> None:
    """One contribution per request id, into an active goal in its currency of the user's own or of the space
    the request names (if the user may write there); otherwise dropped with a log line (the goal may have
    gone, its currency differ, the user have left the space). Dated on the day it arrives (UTC)."""
    try:
        scope = await _requester(session, data)
        goal = await store.goal_of(session, scope, data.goal_id, lock=True)
        if goal.status != GoalStatus.ACTIVE:
            raise Conflict("goal not active")
        if data.currency.upper() != goal.currency:
            raise Invalid("currency differs from the goal's", field="currency")
        amount = quantize(data.amount, goal.currency)
        if amount <= 0:
            raise Invalid("amount rounds to zero", field="amount")
    except AppError as exc:
        log.warning(
            "contribution request dropped", request_id=str(data.request_id), goal_id=str(data.goal_id), reason=str(exc)
        )
        return
    note = data.note or f"Requested by {data.requested_by}"
    await store.record(
        session,
        goal,
        store.Entry(
            EntryKind.CONTRIBUTION,
            amount,
            datetime.now(UTC).date(),
            EntrySource.AUTOMATION,
            None,
            str(data.request_id),
            note[:500],
            by=data.user_id,
        ),
    )


async def _requester(session: AsyncSession, data: SavingsContributionRequested) -> Scope:
    """The scope a request acts in, checked against the spaces read model like an HTTP request's."""
    if data.space_id is None:
        return Scope(data.user_id, None, "owner")
    role = await role_in(session, data.space_id, data.user_id)
    if role is None:
        raise NotFound("not a member of the space")
    return Scope(data.user_id, data.space_id, role).require("write")


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    await store.purge(session, data.user_id)
    await forget_member(session, data.user_id)
    log.info("savings data purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {
    ExpenseCreated.type: on_expense_created,
    ExpenseUpdated.type: on_expense_updated,
    ExpenseDeleted.type: on_expense_deleted,
    IncomeReceived.type: on_income_received,
    SavingsContributionRequested.type: on_contribution_requested,
    UserDeleted.type: on_user_deleted,
    **space_handlers(on_space_deleted=store.purge_space),
}
