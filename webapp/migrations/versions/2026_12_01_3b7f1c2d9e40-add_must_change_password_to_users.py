"""add must_change_password to users

An administrator now creates accounts and resets passwords in the browser; the password they hand
over is temporary and the user must choose their own at the next sign-in.

Revision ID: 3b7f1c2d9e40
Revises: 65dd0d5006a8
Create Date: 2026-12-01 23:50:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "3b7f1c2d9e40"
down_revision = "65dd0d5006a8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
