"""index login attempts by name and time

The login slow-down now counts one account's failures, one address's, and one pair's within the last
minutes. An index that leads with the name and ends with the time reads only the window's rows; it
replaces the single-column indexes on the name, which it covers.

Revision ID: 084e6f79f571
Revises: 2b3461c80a3a
Create Date: 2026-12-02 05:04:54.567946

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "084e6f79f571"
down_revision = "2b3461c80a3a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempt_address"))
        batch_op.drop_index(batch_op.f("ix_login_attempt_username"))
        batch_op.create_index("ix_login_attempt_address_at", ["address", "at"], unique=False)
        batch_op.create_index("ix_login_attempt_username_at", ["username", "at"], unique=False)


def downgrade():
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_username_at")
        batch_op.drop_index("ix_login_attempt_address_at")
        batch_op.create_index(batch_op.f("ix_login_attempt_username"), ["username"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempt_address"), ["address"], unique=False)
