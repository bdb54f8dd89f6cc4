"""add round publications and the fraud award rule

Publishing a round freezes what was published (version 1); a later change of its figures, such as fraud
found at the year-end verification, publishes a correction beside it. Rounds published before this
revision get their version 1 from the results they hold. A year may bar a city with fraud on a key point
from that key point's excellence award (`fraud_bars_award`, on by default).

Revision ID: 2b3461c80a3a
Revises: 9d2e6a4b1c70
Create Date: 2026-12-02 04:41:29.498302

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "2b3461c80a3a"
down_revision = "9d2e6a4b1c70"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "round_publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "publication",
                "correction",
                name="publication_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_params", sa.Text(), nullable=True),
        sa.Column("cities", sa.Text(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_round_publication_version_positive")),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["user_account.id"],
            name=op.f("fk_round_publication_published_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["evaluation_round.id"],
            name=op.f("fk_round_publication_round_id_evaluation_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_publication")),
        sa.UniqueConstraint("round_id", "version", name=op.f("uq_round_publication_round_id_version")),
    )
    with op.batch_alter_table("round_publication", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_publication_round_id"), ["round_id"], unique=False)
    # what was published before this revision is its version 1
    op.execute(
        "INSERT INTO round_publication (round_id, version, kind, published_at, results, reason, cities) "
        "SELECT id, 1, 'publication', published_at, results, '', '[]' FROM evaluation_round "
        "WHERE status = 'published' AND results IS NOT NULL AND published_at IS NOT NULL"
    )

    # plain ALTER TABLE on SQLite too (see the downgrade)
    with op.batch_alter_table("scheme_year", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("fraud_bars_award", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade():
    # ALTER TABLE … DROP COLUMN, not a copy of the table: SQLite refuses to drop scheme_year while
    # the rows of other tables refer to it (foreign keys are on)
    with op.batch_alter_table("scheme_year", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("fraud_bars_award")

    with op.batch_alter_table("round_publication", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_round_publication_round_id"))
    op.drop_table("round_publication")
