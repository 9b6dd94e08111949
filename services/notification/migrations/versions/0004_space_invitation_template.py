"""Templates of the space invitation (issue 12): the inviter's in-app record and the invitee's mail

Revision ID: 0004_space_invitation_template
Revises: 0003_encrypted_contact_details
Create Date: 2026-11-26
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_space_invitation_template"
down_revision: str | None = "0003_encrypted_contact_details"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "space.invitation_created"
ROWS = [
    ("in_app", "Space invitation sent", "Your invitation to {{ space_name }} ({{ role }}) was sent."),
    (
        "email",
        "You are invited to {{ space_name }} on PFMS",
        "Hello,\n\nYou were invited to join the space \"{{ space_name }}\" on PFMS as {{ role }}.\n\nAccept it "
        "here: {{ app_url }}/spaces/invitations/{{ invitation_id }}{% if token %}?token={{ token }}{% endif %}"
        "\n\n-- PFMS",
    ),
]


def upgrade() -> None:
    templates = sa.table(
        "notification_templates",
        sa.column("id", sa.Uuid()),
        sa.column("category", sa.String()),
        sa.column("channel", sa.String()),
        sa.column("key", sa.String()),
        sa.column("subject", sa.String()),
        sa.column("body", sa.String()),
    )
    op.bulk_insert(
        templates,
        [
            {"id": uuid.uuid4(), "category": "system", "channel": channel, "key": KEY, "subject": subject, "body": body}
            for channel, subject, body in ROWS
        ],
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM notification_templates WHERE key = :key").bindparams(key=KEY))
