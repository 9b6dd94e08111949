"""Service-to-service routes under /internal/v1/users (service token; never routed by the gateway).

Loan contacts, group invitations and payments name people by email; this is how those services turn
a verified email into the user id of someone who has a PFMS account, without reading this service's
database.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AfterValidator
from sqlalchemy import select

from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, ok
from pfms_platform.errors import NotFound
from pfms_platform.security import CallingService
from pfms_user import validation
from pfms_user.models import UserProfile
from pfms_user.schemas import Person

router = APIRouter(prefix="/internal/v1/users", tags=["internal"])

Email = Annotated[str, Query(max_length=320), AfterValidator(validation.email)]


@router.get("/lookup", response_model=Envelope[Person])
async def lookup(email: Email, session: Session, _: CallingService) -> dict[str, Any]:
    """The account behind a verified email address (matched case-insensitively), or 404. An address its
    holder never proved is nobody's here: whoever signed up with someone else's address must not receive
    their payments, group invitations or loan contacts."""
    row = await session.scalar(
        select(UserProfile).where(UserProfile.email == email, UserProfile.email_verified.is_(True))
    )
    if row is None:
        raise NotFound("Nobody has an account with that verified email", field="email")
    return ok(Person.model_validate(row, from_attributes=True).model_dump(mode="json"))
