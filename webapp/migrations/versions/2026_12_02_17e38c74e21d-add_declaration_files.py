"""add declaration files

A department attaches the files its declaration cites (basis documents) to the year's declaration:
a `declaration_file` row per file, kept by year and department (the `declaration` row is written
only at the first submission), the bytes stored by their SHA-256 beside the evidence files.

Revision ID: 17e38c74e21d
Revises: 0d1a4a8e58f9
Create Date: 2026-12-02 05:38:03.718795

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "17e38c74e21d"
down_revision = "0d1a4a8e58f9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "declaration_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_year_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_declaration_file_size_positive")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["org_unit.id"], name=op.f("fk_declaration_file_department_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["scheme_year_id"],
            ["scheme_year.id"],
            name=op.f("fk_declaration_file_scheme_year_id_scheme_year"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user_account.id"],
            name=op.f("fk_declaration_file_uploaded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declaration_file")),
    )
    op.create_index(
        "ix_declaration_file_year_department", "declaration_file", ["scheme_year_id", "department_id"]
    )


def downgrade():
    op.drop_index("ix_declaration_file_year_department", table_name="declaration_file")
    op.drop_table("declaration_file")
