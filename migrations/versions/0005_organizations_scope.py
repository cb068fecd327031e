"""clients may ask for the organizations scope

Revision ID: 0005_organizations_scope
Revises: 0004_audit_organisation
Create Date: 2026-11-25 19:40:00

"""
from alembic import op

revision = '0005_organizations_scope'
down_revision = '0004_audit_organisation'
branch_labels = None
depends_on = None


def upgrade():
    # Clients registered before organisations existed get the new scope like new ones do.
    op.execute("UPDATE clients SET scope = scope || ' organizations' WHERE scope NOT LIKE '%organizations%'")


def downgrade():
    op.execute("UPDATE clients SET scope = REPLACE(scope, ' organizations', '')")
