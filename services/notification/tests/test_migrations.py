"""The Alembic history builds exactly the tables the models describe, and seeds the templates."""

import pytest
from sqlalchemy import func, select

from pfms_notification.models import Template
from pfms_platform.testing.schema import schema_drift

pytestmark = pytest.mark.integration


async def test_migrations_match_the_models_and_seed_templates(make_service) -> None:
    svc = await make_service("notification")
    assert await schema_drift(svc.db, "pfms_notification") == []
    async with svc.db.sessions() as session:
        keys = set((await session.scalars(select(Template.key).where(Template.channel == "email"))).all())
        defaults = await session.scalar(select(func.count()).select_from(Template).where(Template.key == "default"))
    assert {"budget.threshold_reached", "auth.password_reset_requested", "default"} <= keys
    assert defaults == 4
