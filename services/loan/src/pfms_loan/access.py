"""Who may see a loan: its owner, and the counterparty — the app user the owner's contact is linked to.

Access is decided in SQL (the loan joined to the owner's contact), never by loading someone else's rows
first: a stranger's query returns nothing and answers 404 exactly like an unknown id. The counterparty
reads; every write stays the owner's (403 for the counterparty, who knows the loan exists).
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_loan.domain import ContactType, Role, mirrored
from pfms_loan.models import Contact, Loan
from pfms_platform.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Access:
    loan: Loan
    role: Role
    owner_id: uuid.UUID
    counterparty_id: uuid.UUID | None

    def other_party(self, user: uuid.UUID) -> uuid.UUID | None:
        """Whom to tell about the caller's move: the owner, or the linked counterparty if there is one."""
        return self.counterparty_id if user == self.owner_id else self.owner_id

    @property
    def direction(self) -> str:
        """The loan's type from the caller's side: the owner's `lent` is the counterparty's `borrowed`."""
        return mirrored(self.loan.type, self.role)


def counterparty_column() -> Any:
    """The linked app user of the loan's contact (NULL for an external contact or no contact)."""
    return case((Contact.contact_type == ContactType.APP_USER.value, Contact.linked_user_id), else_=None)


def is_counterparty(user: uuid.UUID) -> Any:
    return and_(Contact.contact_type == ContactType.APP_USER.value, Contact.linked_user_id == user)


def visible_to(user: uuid.UUID) -> Any:
    """The loans `user` may read (for a query that outer-joins `Contact` on the loan's contact)."""
    return or_(Loan.user_id == user, is_counterparty(user))


def visible_ids(user: uuid.UUID, role: Role | None = None) -> Any:
    """Ids of the loans `user` reads as `role` (both sides when None): one indexed branch per side (loans by
    owner; contacts by linked user, then loans by contact), so a list never scans other users' loans."""
    own = select(Loan.id).where(Loan.user_id == user)
    theirs = select(Loan.id).join(Contact, Contact.id == Loan.contact_id).where(is_counterparty(user))
    if role is Role.OWNER:
        return own
    if role is Role.COUNTERPARTY:
        return theirs
    return union_all(own, theirs)


def role_column(user: uuid.UUID) -> Any:
    return case((Loan.user_id == user, Role.OWNER.value), else_=Role.COUNTERPARTY.value)


def joined(*columns: Any) -> Any:
    return select(*columns).outerjoin(Contact, Contact.id == Loan.contact_id)


async def readable(session: AsyncSession, loan_id: uuid.UUID, user: uuid.UUID, *, lock: bool = False) -> Access:
    """The loan as owner or counterparty, or 404 (also for a stranger)."""
    query = joined(Loan, role_column(user), counterparty_column()).where(Loan.id == loan_id, visible_to(user))
    if lock:
        query = query.with_for_update(of=Loan)
    found = (await session.execute(query)).one_or_none()
    if found is None:
        raise NotFound("No such loan")
    loan, role, counterparty = found
    return Access(loan, Role(role), loan.user_id, counterparty)


async def writable(session: AsyncSession, loan_id: uuid.UUID, user: uuid.UUID, *, lock: bool = False) -> Loan:
    """The caller's own loan; 403 for its counterparty, 404 for anyone else."""
    access = await readable(session, loan_id, user, lock=lock)
    if access.role is not Role.OWNER:
        raise Forbidden("Only the loan's owner can change it")
    return access.loan
