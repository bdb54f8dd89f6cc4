"""add definition comments and drafts

Administrators deploy a revised diagram with a word on what changed (the version list shows it), and
revise next year's diagrams as drafts (one per process and year) before deploying them.

Revision ID: 9d2e6a4b1c70
Revises: 3b7f1c2d9e40
Create Date: 2026-12-02 00:10:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "9d2e6a4b1c70"
down_revision = "3b7f1c2d9e40"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("process_definition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("comment", sa.Text(), server_default="", nullable=False))

    op.create_table(
        "definition_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_year_id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=100), nullable=False),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("based_on_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["based_on_id"],
            ["process_definition.id"],
            name=op.f("fk_definition_draft_based_on_id_process_definition"),
        ),
        sa.ForeignKeyConstraint(
            ["scheme_year_id"],
            ["scheme_year.id"],
            name=op.f("fk_definition_draft_scheme_year_id_scheme_year"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_definition_draft_updated_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition_draft")),
        sa.UniqueConstraint(
            "scheme_year_id", "process_id", name=op.f("uq_definition_draft_scheme_year_id_process_id")
        ),
    )
    with op.batch_alter_table("definition_draft", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_definition_draft_scheme_year_id"), ["scheme_year_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("definition_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_definition_draft_scheme_year_id"))
    op.drop_table("definition_draft")

    with op.batch_alter_table("process_definition", schema=None) as batch_op:
        batch_op.drop_column("comment")
