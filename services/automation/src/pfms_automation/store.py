"""Queries of the automation service, each filtered by the owner: a person's personal rows, or a space's."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_automation.models import (
    AutomationJob,
    AutomationRule,
    JobChange,
    RuleExecution,
    TriggerEvent,
    UserTimezone,
)
from pfms_platform.errors import NotFound
from pfms_platform.spaces import Scope

SUBJECT_FIELDS = ("expense_id", "income_id", "loan_id", "goal_id", "transaction_id", "budget_id")
DATE_FIELDS = (
    "expense_date",
    "received_date",
    "transaction_date",
    "payment_date",
    "settlement_date",
    "disposal_date",
    "due_date",
    "achieved_on",
    "period_start",
)


def event_date(data: dict[str, Any], default: date) -> date:
    """The day the event is about (an expense's date, …), else the day it arrived."""
    for name in DATE_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                continue
    return default


async def rule(session: AsyncSession, scope: Scope, rule_id: uuid.UUID, *, lock: bool = False) -> AutomationRule:
    """A rule of the scope; another person's, or another space's, is a 404 like an unknown id."""
    query = select(AutomationRule).where(AutomationRule.id == rule_id, scope.owns(AutomationRule))
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("Rule not found")
    return row


async def job(session: AsyncSession, scope: Scope, job_id: uuid.UUID, *, lock: bool = False) -> AutomationJob:
    query = select(AutomationJob).where(AutomationJob.id == job_id, scope.owns(AutomationJob))
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("Job not found")
    return row


async def remember(
    session: AsyncSession,
    user_id: uuid.UUID,
    event_id: str,
    event_type: str,
    data: dict[str, Any],
    keep: int,
    space_id: uuid.UUID | None = None,
) -> None:
    """Keep the event for tests and applies, and only the `keep` most recent ones of its owner (the
    person for a personal event, the space for a space's).

    One statement: the insert is a CTE, which the trim does not see (one snapshot), so the trim keeps
    `keep` - 1 older ones when the event is new and `keep` when it was remembered already."""
    subject = next((str(data[f]) for f in SUBJECT_FIELDS if data.get(f)), None)
    now = datetime.now(UTC)
    inserted = (
        insert(TriggerEvent)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            space_id=space_id,
            event_id=event_id,
            event_type=event_type,
            occurred_at=now,
            event_date=event_date(data, now.date()),
            subject_id=subject,
            data=data,
        )
        .on_conflict_do_nothing(constraint="uq_trigger_events_user_event")
        .returning(TriggerEvent.id)
        .cte("inserted")
    )
    beyond = (
        select(TriggerEvent.id)
        .where(Scope(user_id, space_id, "owner").owns(TriggerEvent))
        .order_by(TriggerEvent.occurred_at.desc(), TriggerEvent.id.desc())
        .offset(keep - select(func.count()).select_from(inserted).scalar_subquery())
    )
    await session.execute(delete(TriggerEvent).where(TriggerEvent.id.in_(beyond)))


async def recent_events(
    session: AsyncSession,
    rule: AutomationRule,
    event_types: tuple[str, ...],
    *,
    limit: int,
) -> list[TriggerEvent]:
    """The remembered events of these types of the rule's owner (its person, or its space), newest first."""
    owner = Scope(rule.user_id, rule.space_id, "owner")
    query = select(TriggerEvent).where(owner.owns(TriggerEvent), TriggerEvent.event_type.in_(event_types))
    query = query.order_by(TriggerEvent.occurred_at.desc(), TriggerEvent.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def user_timezone(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    return await session.scalar(select(UserTimezone.timezone).where(UserTimezone.user_id == user_id))


async def set_timezone(session: AsyncSession, user_id: uuid.UUID, timezone: str) -> None:
    await session.execute(
        insert(UserTimezone)
        .values(user_id=user_id, timezone=timezone)
        .on_conflict_do_update(index_elements=[UserTimezone.user_id], set_={"timezone": timezone})
    )


async def purge(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Every personal row of the person, and every rule they made, in spaces too (a rule would otherwise
    act for someone who no longer exists); returns those rules' spaces. What they did in a space — its
    remembered events, runs and apply jobs — is the household's record and stays with the space."""
    spaces = await session.scalars(
        select(AutomationRule.space_id)
        .where(AutomationRule.user_id == user_id, AutomationRule.space_id.is_not(None))
        .distinct()
    )
    touched = [s for s in spaces if s is not None]
    jobs = select(AutomationJob.id).where(AutomationJob.user_id == user_id, AutomationJob.space_id.is_(None))
    await session.execute(delete(JobChange).where(JobChange.job_id.in_(jobs)))
    for table in (RuleExecution, TriggerEvent, AutomationJob):
        await session.execute(delete(table).where(table.user_id == user_id, table.space_id.is_(None)))
    for owned in (AutomationRule, UserTimezone):
        await session.execute(delete(owned).where(owned.user_id == user_id))
    return touched


async def purge_space(session: AsyncSession, space_id: uuid.UUID) -> None:
    """A deleted space: its rules, runs, remembered events, jobs and their changes."""
    jobs = select(AutomationJob.id).where(AutomationJob.space_id == space_id)
    await session.execute(delete(JobChange).where(JobChange.job_id.in_(jobs)))
    for table in (RuleExecution, TriggerEvent, AutomationJob, AutomationRule):
        await session.execute(delete(table).where(table.space_id == space_id))
