"""Admin routes for the notification templates (issue 8: "stored, seeded, editable by admins").

Only a token carrying the `admin` role (granted with auth's operator command) reaches them; anyone
else gets 403. An edit takes effect with the next notification rendered: the planner reads the
templates table for every batch.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from jinja2 import TemplateSyntaxError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from pfms_notification import domain
from pfms_notification.domain import Category, Channel, Intent
from pfms_notification.intents import BUILDERS
from pfms_notification.models import Template
from pfms_notification.schemas import TemplateIn, TemplateOut
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Invalid, NotFound
from pfms_platform.logging import get_logger
from pfms_platform.security import AdminUser

log = get_logger(__name__)

router = APIRouter(prefix="/api/v1/notifications/templates", tags=["templates"])

KEYS = frozenset({*BUILDERS, "default"})
"""Template keys something renders: the event types that make notifications, and the fallback."""

_ALWAYS = domain.template_vars(Intent(uuid.UUID(int=0), category="system", key="default", title="t", message="m"))
"""The variables every render gets; an event's own fields may be missing, so they are left undefined."""

ADMIN_ONLY: dict[int | str, dict[str, Any]] = {403: {"description": "The caller's token lacks the admin role"}}


def checked(source: str, field: str) -> str:
    """Refuse what the renderer would fail on, rendering as it does (same sandbox, same variables).

    A syntax error, an attribute the sandbox forbids, or an expression that crashes on a variable
    the event did not bring (an undefined prints as nothing, but `{{ amount + 1 }}` raises) is a
    422 naming the field instead of a notification that can never be made.
    """
    try:
        domain.render(source, _ALWAYS)
    except TemplateSyntaxError as exc:
        raise Invalid(f"Template syntax error on line {exc.lineno}: {exc.message}", field=field) from exc
    except Exception as exc:  # whatever the template raises here, the renderer would raise too
        raise Invalid(f"Template does not render: {exc}", field=field) from exc
    return source


@router.get("", response_model=PageEnvelope[TemplateOut], responses=ADMIN_ONLY)
async def list_templates(
    admin: AdminUser,
    session: Session,
    page: Annotated[PageParams, Depends()],
    category: Category | None = None,
    channel: Channel | None = None,
    key: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    query = select(Template)
    if category is not None:
        query = query.where(Template.category == category.value)
    if channel is not None:
        query = query.where(Template.channel == channel.value)
    if key is not None:
        query = query.where(Template.key == key)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Template.category, Template.key, Template.channel).offset(page.offset).limit(page.limit)
    )
    return paged([TemplateOut.model_validate(r).model_dump(mode="json") for r in rows], page, total)


@router.put(
    "/{category}/{channel}/{key}",
    response_model=Envelope[TemplateOut],
    responses={**ADMIN_ONLY, 404: {"description": "No notification is rendered with this key"}},
)
async def put_template(
    category: Category, channel: Channel, key: str, body: TemplateIn, admin: AdminUser, session: Session
) -> dict[str, Any]:
    """Create or replace the subject and body of one (category, channel, key)."""
    if key not in KEYS:
        raise NotFound(f"No notification is rendered with the key {key!r}")
    subject, text = checked(body.subject, "subject"), checked(body.body, "body")
    statement = insert(Template).values(
        id=uuid.uuid4(), category=category.value, channel=channel.value, key=key, subject=subject, body=text
    )
    row_id = await session.scalar(
        statement.on_conflict_do_update(
            constraint="uq_notification_templates_ck",
            set_={"subject": subject, "body": text, "updated_at": datetime.now(UTC)},
        ).returning(Template.id)
    )
    row = await session.scalar(select(Template).where(Template.id == row_id).execution_options(populate_existing=True))
    log.info("template edited", admin=str(admin), category=category.value, channel=channel.value, key=key)
    return ok(TemplateOut.model_validate(row).model_dump(mode="json"))
