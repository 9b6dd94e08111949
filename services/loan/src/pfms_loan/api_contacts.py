"""Routes of contacts and contact groups: every route acts on the caller's own rows (others' are 404)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_loan import store
from pfms_loan.domain import ContactType
from pfms_loan.models import Contact, ContactGroup, ContactGroupMember, Loan
from pfms_loan.schemas_contacts import (
    Contact as ContactOut,
)
from pfms_loan.schemas_contacts import (
    ContactCreate,
    ContactFilters,
    ContactUpdate,
    Group,
    GroupCreate,
    GroupUpdate,
)
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Invalid, NotFound
from pfms_platform.internal import InternalClient
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])

FIELDS = (
    "name",
    "phone",
    "email",
    "address",
    "nickname",
    "relationship",
    "notes",
    "avatar_url",
    "is_favorite",
    "is_blocked",
)


def contact_view(row: Contact) -> dict[str, Any]:
    return ContactOut(
        id=row.id,
        contact_type=ContactType(row.contact_type),
        linked_user_id=row.linked_user_id,
        display_name=row.nickname or row.name or row.email or "",
        metadata=row.meta,
        created_at=row.created_at,
        updated_at=row.updated_at,
        **{f: getattr(row, f) for f in FIELDS},
    ).model_dump(mode="json")


async def _group_view(session: AsyncSession, row: ContactGroup) -> dict[str, Any]:
    members = await session.scalars(
        select(ContactGroupMember.contact_id)
        .where(ContactGroupMember.group_id == row.id)
        .order_by(ContactGroupMember.added_at, ContactGroupMember.contact_id)
    )
    return Group(
        id=row.id,
        name=row.name,
        description=row.description,
        color=row.color,
        contact_ids=list(members.all()),
        created_at=row.created_at,
    ).model_dump(mode="json")


async def _unique(session: AsyncSession, what: str) -> None:
    """Flush, turning a unique-key clash into a 409 that says which key."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"You already have a {what}") from exc


async def _resolve(request: Request, email: str) -> dict[str, Any]:
    """The app user who has `email`, through the user service's internal lookup."""
    client: InternalClient = request.app.state.users
    try:
        person: dict[str, Any] = await client.get("/internal/v1/users/lookup", {"email": email})
    except NotFound as exc:
        raise Invalid("No app user has this email", field="email") from exc
    return person


# --- groups (fixed paths before /{contact_id}) -------------------------------------------------------


@router.post("/groups", status_code=status.HTTP_201_CREATED, response_model=Envelope[Group])
async def create_group(body: GroupCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    row = ContactGroup(id=uuid.uuid4(), user_id=user, **body.model_dump())
    session.add(row)
    await _unique(session, "contact group with this name")
    await session.refresh(row)
    return ok(await _group_view(session, row))


@router.get("/groups", response_model=PageEnvelope[Group])
async def list_groups(params: Annotated[PageParams, Query()], user: CurrentUser, session: Session) -> dict[str, Any]:
    total = await session.scalar(select(func.count()).select_from(ContactGroup).where(ContactGroup.user_id == user))
    rows = await session.scalars(
        select(ContactGroup)
        .where(ContactGroup.user_id == user)
        .order_by(ContactGroup.name, ContactGroup.id)
        .offset(params.offset)
        .limit(params.limit)
    )
    return paged([await _group_view(session, r) for r in rows.all()], params, total or 0)


@router.get("/groups/{group_id}", response_model=Envelope[Group])
async def get_group(group_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(await _group_view(session, await store.owned(session, ContactGroup, group_id, user)))


@router.patch("/groups/{group_id}", response_model=Envelope[Group])
async def update_group(group_id: uuid.UUID, body: GroupUpdate, user: CurrentUser, session: Session) -> dict[str, Any]:
    row = await store.owned(session, ContactGroup, group_id, user, lock=True)
    for key, value in body.changes().items():
        setattr(row, key, value)
    await _unique(session, "contact group with this name")
    return ok(await _group_view(session, row))


@router.delete("/groups/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_group(group_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    row = await store.owned(session, ContactGroup, group_id, user)
    await session.delete(row)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/groups/{group_id}/members/{contact_id}", response_model=Envelope[Group])
async def add_member(group_id: uuid.UUID, contact_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    group = await store.owned(session, ContactGroup, group_id, user)
    await store.owned(session, Contact, contact_id, user)
    await session.execute(
        insert(ContactGroupMember)
        .values(id=uuid.uuid4(), group_id=group.id, contact_id=contact_id)
        .on_conflict_do_nothing(index_elements=[ContactGroupMember.group_id, ContactGroupMember.contact_id])
    )
    return ok(await _group_view(session, group))


@router.delete("/groups/{group_id}/members/{contact_id}", response_model=Envelope[Group])
async def remove_member(
    group_id: uuid.UUID, contact_id: uuid.UUID, user: CurrentUser, session: Session
) -> dict[str, Any]:
    group = await store.owned(session, ContactGroup, group_id, user)
    await session.execute(
        delete(ContactGroupMember).where(
            ContactGroupMember.group_id == group.id, ContactGroupMember.contact_id == contact_id
        )
    )
    return ok(await _group_view(session, group))


# --- contacts ---------------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[ContactOut])
async def create_contact(body: ContactCreate, request: Request, user: CurrentUser, session: Session) -> dict[str, Any]:
    values = body.model_dump(exclude={"metadata", "contact_type", "linked_user_id"})
    linked = body.linked_user_id
    if body.contact_type is ContactType.APP_USER and linked is None:
        assert body.email is not None
        person = await _resolve(request, body.email)
        linked = uuid.UUID(str(person["user_id"]))
        full = " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p)
        values["name"] = values["name"] or full or None
        values["email"] = person.get("email") or body.email
    if linked == user:
        raise Invalid("You cannot add yourself as a contact", field="linked_user_id")
    if values.get("email"):
        values["email"] = values["email"].lower()
    row = Contact(
        id=uuid.uuid4(),
        user_id=user,
        contact_type=body.contact_type.value,
        linked_user_id=linked,
        meta=body.metadata,
        **values,
    )
    session.add(row)
    await _unique(session, "contact with this app user or phone")
    await session.refresh(row)
    return ok(contact_view(row))


@router.get("", response_model=PageEnvelope[ContactOut])
async def list_contacts(
    params: Annotated[ContactFilters, Query()], user: CurrentUser, session: Session
) -> dict[str, Any]:
    where = [Contact.user_id == user]
    if params.contact_type is not None:
        where.append(Contact.contact_type == params.contact_type.value)
    if params.favorite is not None:
        where.append(Contact.is_favorite.is_(params.favorite))
    if params.blocked is not None:
        where.append(Contact.is_blocked.is_(params.blocked))
    if params.q:
        pattern = "%" + params.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(
                Contact.name.ilike(pattern),
                Contact.nickname.ilike(pattern),
                Contact.email_index == params.q.lower(),  # encrypted: exact match on the blind index
                Contact.phone_index == params.q,
            )
        )
    total = await session.scalar(select(func.count()).select_from(Contact).where(*where))
    rows = await session.scalars(
        select(Contact)
        .where(*where)
        .order_by(Contact.is_favorite.desc(), func.lower(func.coalesce(Contact.nickname, Contact.name)), Contact.id)
        .offset(params.offset)
        .limit(params.limit)
    )
    return paged([contact_view(r) for r in rows.all()], params, total or 0)


@router.get("/{contact_id}", response_model=Envelope[ContactOut])
async def get_contact(contact_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(contact_view(await store.owned(session, Contact, contact_id, user)))


@router.patch("/{contact_id}", response_model=Envelope[ContactOut])
async def update_contact(
    contact_id: uuid.UUID, body: ContactUpdate, user: CurrentUser, session: Session
) -> dict[str, Any]:
    row = await store.owned(session, Contact, contact_id, user, lock=True)
    changes = body.changes()
    if "metadata" in changes:
        row.meta = changes.pop("metadata")
    if changes.get("email"):
        changes["email"] = changes["email"].lower()
    if row.contact_type == ContactType.EXTERNAL and "name" in changes and not changes["name"]:
        raise Invalid("An external contact needs a name", field="name")
    for key, value in changes.items():
        setattr(row, key, value)
    await _unique(session, "contact with this phone")
    await session.refresh(row)
    return ok(contact_view(row))


@router.delete("/{contact_id}/link", response_model=Envelope[ContactOut])
async def unlink_contact(contact_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """The contact becomes an external person (named by its name, nickname or email): the app user it was
    linked to stops seeing the caller's loans with it. Idempotent."""
    row = await store.owned(session, Contact, contact_id, user)
    await store.unlink(session, Contact.id == row.id)
    await session.refresh(row)
    return ok(contact_view(row))


@router.delete("/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_contact(contact_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    row = await store.owned(session, Contact, contact_id, user, lock=True)
    if await session.scalar(select(Loan.id).where(Loan.contact_id == row.id).limit(1)):
        raise Conflict("The contact has loans; it cannot be deleted")
    await session.delete(row)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
