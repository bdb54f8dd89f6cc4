"""add the instance tree and where inbox tasks belong

Every call activity now runs its process as a child instance: an instance names its parent, the
parent's waiting task and that task's element, and may be cancelled with it. The versions of called
processes are bound when each child starts, so `definition_ids` goes. Inbox rows carry the process,
phase and round the engine read from the BPMN.

There is no production data yet: instances stored as one blob per year are not converted.

Revision ID: 65dd0d5006a8
Revises: 8c4e2f61a9b3
Create Date: 2026-12-01 21:22:50.027630

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "65dd0d5006a8"
down_revision = "8c4e2f61a9b3"
branch_labels = None
depends_on = None

OLD_STATUSES = ("running", "waiting", "completed", "incident")
NEW_STATUSES = (*OLD_STATUSES, "cancelled")


def _status_check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    with op.batch_alter_table("inbox_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("process_id", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(sa.Column("phase", sa.String(length=32), server_default="", nullable=False))
        batch_op.add_column(sa.Column("round", sa.String(length=32), server_default="", nullable=False))

    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_instance_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("parent_task_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("parent_element_id", sa.String(length=100), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_process_instance_parent_instance_id"), ["parent_instance_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_process_instance_parent_instance_id_process_instance"),
            "process_instance",
            ["parent_instance_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_column("definition_ids")
        batch_op.drop_constraint(batch_op.f("ck_process_instance_instance_status"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_process_instance_instance_status"), _status_check(NEW_STATUSES)
        )


def downgrade():
    op.execute("DELETE FROM process_instance WHERE status = 'cancelled'")
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_process_instance_instance_status"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_process_instance_instance_status"), _status_check(OLD_STATUSES)
        )
        batch_op.add_column(sa.Column("definition_ids", sa.Text(), server_default="{}", nullable=False))
        batch_op.drop_constraint(
            batch_op.f("fk_process_instance_parent_instance_id_process_instance"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_process_instance_parent_instance_id"))
        batch_op.drop_column("parent_element_id")
        batch_op.drop_column("parent_task_id")
        batch_op.drop_column("parent_instance_id")

    with op.batch_alter_table("inbox_task", schema=None) as batch_op:
        batch_op.drop_column("round")
        batch_op.drop_column("phase")
        batch_op.drop_column("process_id")
