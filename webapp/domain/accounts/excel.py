"""Users imported from an Excel workbook: a template to fill in, and the import, taken whole or not
at all (every problem reported by row and column, nothing created while any remains)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import OrgUnit, Role, User
from webapp.domain import errors, sheets
from webapp.domain.accounts import users

SHEET = "用户"
REFERENCE_SHEET = "单位与角色"
USERNAME, NAME, ORG, ROLES, EMAIL = "用户名", "姓名", "单位代码", "角色", "电子邮箱"
HEADERS = [USERNAME, NAME, ORG, ROLES, EMAIL]
REQUIRED = [USERNAME, NAME, ORG, ROLES]
FIELD_COLUMN = {"username": USERNAME, "display_name": NAME, "org": ORG, "roles": ROLES, "email": EMAIL}


def template() -> bytes:
    """The import workbook: the users' sheet with its header and an example, then the organisations'
    codes and the roles to copy from."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(HEADERS)
    sheets.style_header(sheet[1])
    sheet.append(["fgw-zhang", "发展改革委 张三", "fgw", "department", "zhang@example.org"])
    for column, width in zip("ABCDE", (18, 24, 16, 24, 28), strict=True):
        sheet.column_dimensions[column].width = width
    reference = book.create_sheet(REFERENCE_SHEET)
    reference.append(
        [str(_l("Organisation code")), str(_l("Organisation")), "", str(_l("Role")), str(_l("Name"))]
    )
    sheets.style_header(reference[1])
    units = db.session.scalars(select(OrgUnit).order_by(OrgUnit.kind, OrgUnit.sort_order, OrgUnit.code)).all()
    roles = list(Role)
    for n in range(max(len(units), len(roles))):
        unit = units[n] if n < len(units) else None
        role = roles[n] if n < len(roles) else None
        reference.append(
            [
                unit.code if unit else None,
                unit.name if unit else None,
                None,
                role.value if role else None,
                role.title if role else None,
            ]
        )
    for column, width in zip("ABCDE", (16, 36, 4, 16, 20), strict=True):
        reference.column_dimensions[column].width = width
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _roles(text: str) -> tuple[list[Role], list[str]]:
    """Roles by code (department) or by name (考评部门)."""
    by_title = {r.title: r.value for r in Role}
    tokens = [by_title.get(t, t) for t in text.replace("，", ",").replace("、", ",").split(",")]
    return users.parse_roles(tokens)


def import_users(actor: User, data: bytes) -> list[tuple[User, str]]:
    """Create every user of the workbook, each with a temporary password (returned, to hand over
    once), or raise WorkbookInvalid with every problem and create none."""
    errors.forbid_unless(actor.can_administer_users(), _l("Only administrators manage users."))
    values = sheets.read_sheet(data, SHEET)
    columns = sheets.header_columns(values[0] if values else (), REQUIRED, SHEET)
    problems = sheets.Problems(SHEET, HEADERS)
    email_column = next(
        (i for i, v in enumerate(values[0] if values else ()) if sheets.cell_text(v) == EMAIL), None
    )
    accounts: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(values[1:], start=2):
        cells = {h: sheets.cell_text(raw[i]) if i < len(raw) else "" for h, i in columns.items()}
        has_email = email_column is not None and email_column < len(raw)
        email = sheets.cell_text(raw[email_column]) if has_email and email_column is not None else ""
        if not any(cells.values()) and not email:
            continue
        username = cells[USERNAME].lower()
        for message in users.username_problems(username):
            problems.add(number, USERNAME, message)
        if username in seen:
            problems.add(number, USERNAME, _l("The username is already on row %(row)d.", row=seen[username]))
        seen.setdefault(username, number)
        org = users.find_org(cells[ORG])
        if cells[ORG] and org is None:
            problems.add(
                number,
                ORG,
                _l("There is no organisation with the code %(code)s.", code=sheets.excerpt(cells[ORG])),
            )
        roles, unknown = _roles(cells[ROLES])
        if unknown:
            problems.add(
                number, ROLES, _l("Unknown roles: %(roles)s", roles=sheets.excerpt("、".join(unknown)))
            )
        for field, messages in users.account_problems(org, roles, cells[NAME], email).items():
            if field == "org" and cells[ORG]:
                continue  # the unknown code was said above
            for message in messages:
                problems.add_once(number, FIELD_COLUMN[field], message)
        accounts.append(
            {"username": username, "display_name": cells[NAME], "org": org, "roles": roles, "email": email}
        )
    if not accounts and not problems.items:
        problems.add(0, "", _l("The workbook lists no users."))
    problems.raise_any()
    return [users.create_user(actor, **account) for account in accounts]
