"""add notification params, key and unread index, and user e-mail

Revision ID: 8c4e2f61a9b3
Revises: f1dd46f22a62
Create Date: 2026-11-28 04:40:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "8c4e2f61a9b3"
down_revision = "f1dd46f22a62"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("key", sa.String(length=120), nullable=True))
        batch_op.create_index("ix_notification_user_id_read_at", ["user_id", "read_at"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_notification_key_user_id"), ["key", "user_id"])

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("email")

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_notification_key_user_id"), type_="unique")
        batch_op.drop_index("ix_notification_user_id_read_at")
        batch_op.drop_column("key")
        batch_op.drop_column("params")
