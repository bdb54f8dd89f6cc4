"""Load the 2012 scheme and demo users; running it again changes nothing."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from models.db import db
from models.org import OrgKind, OrgUnit, Role, User, hash_password
from models.scheme import (
    TOTAL_WEIGHT,
    Dimension,
    Indicator,
    IndicatorCoOwner,
    KeyPoint,
    Level,
    Scheme,
    SchemeYear,
    YearStatus,
)
from webapp.demo import plan_2012, scheme_2012

DEMO_YEAR = 2012
SCHEME_CODE = "ln-cities"

# (code, name, short name, kind)
CENTRAL_UNITS = [
    ("leadership", "省政府绩效管理工作领导小组", "省领导小组", OrgKind.LEADERSHIP),
    ("office", "省政府绩效考核办公室", "省绩效办", OrgKind.OFFICE),
    ("experts", "省政府绩效管理专家库", "专家库", OrgKind.EXPERT),
    ("thirdparty", "辽宁省第三方绩效评估中心", "第三方评估中心", OrgKind.THIRD_PARTY),
    ("system", "系统管理", "系统管理", OrgKind.SYSTEM),
]

# (username, display name, org code, roles)
CENTRAL_USERS = [
    ("leader", "省领导小组 组长", "leadership", [Role.LEADERSHIP]),
    ("leader2", "省领导小组 副组长", "leadership", [Role.LEADERSHIP]),
    ("office", "省绩效办 工作人员", "office", [Role.OFFICE]),
    ("office-chief", "省绩效办 主任", "office", [Role.OFFICE, Role.ADMIN]),
    ("expert1", "专家 张教授", "experts", [Role.EXPERT]),
    ("expert2", "专家 李研究员", "experts", [Role.EXPERT]),
    ("expert3", "专家 王教授", "experts", [Role.EXPERT]),
    ("thirdparty", "第三方评估员", "thirdparty", [Role.THIRD_PARTY]),
    ("admin", "系统管理员", "system", [Role.ADMIN]),
]


@dataclass
class DemoLoadReport:
    password: str
    password_source: str
    created: dict[str, int] = field(default_factory=dict)
    logins: list[User] = field(default_factory=list)

    def count(self, what: str) -> None:
        self.created[what] = self.created.get(what, 0) + 1


def demo_password(configured: str | None, password_file: str) -> tuple[str, str]:
    """The shared demo password: configured, else stored in the instance folder, else generated and stored."""
    if configured:
        return configured, "JIXIAO_DEMO_PASSWORD"
    path = Path(password_file)
    if path.exists():
        stored = path.read_text(encoding="utf-8").strip()
        if stored:
            return stored, str(path)
    generated = "Jx-" + secrets.token_urlsafe(9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(generated + "\n")
    return generated, str(path)


class _Loader:
    def __init__(self, report: DemoLoadReport):
        self.report = report
        self._hash: str | None = None
        self.orgs = {o.code: o for o in db.session.scalars(db.select(OrgUnit))}
        self.users = {u.username: u for u in db.session.scalars(db.select(User))}

    def password_hash(self) -> str:
        # One hash for the one shared password keeps the load fast; each user can change theirs.
        if self._hash is None:
            self._hash = hash_password(self.report.password)
        return self._hash

    def org(self, code: str, name: str, short: str, kind: OrgKind, order: int, parent: OrgUnit | None = None):
        unit = self.orgs.get(code)
        if unit is None:
            unit = OrgUnit(code=code, name=name, short_name=short, kind=kind, sort_order=order, parent=parent)
            db.session.add(unit)
            self.orgs[code] = unit
            self.report.count("org units")
        return unit

    def user(self, username: str, display_name: str, org: OrgUnit, roles: list[Role]) -> None:
        user = self.users.get(username)
        if user is None:
            user = User(username=username, display_name=display_name, org=org)
            user.set_password(self.report.password, password_hash=self.password_hash())
            user.set_roles(roles)
            db.session.add(user)
            self.users[username] = user
            self.report.count("users")
        self.report.logins.append(user)


def load_demo(password: str, password_source: str) -> DemoLoadReport:
    """Create what is missing of the demo organisation, users and 2012 indicator system."""
    report = DemoLoadReport(password=password, password_source=password_source)
    loader = _Loader(report)
    for order, (code, name, short, kind) in enumerate(CENTRAL_UNITS):
        loader.org(code, name, short, kind, order)
    for order, (code, name, short) in enumerate(scheme_2012.DEPARTMENTS):
        loader.org(code, name, short, OrgKind.DEPARTMENT, order)
    for order, (code, name, short) in enumerate(plan_2012.CITIES):
        city = loader.org(code, name, short, OrgKind.CITY, order)
        for sub_order, (suffix, template) in enumerate(scheme_2012.COUNTERPART_UNITS):
            unit_name = template.format(city=name)
            loader.org(
                f"{code}-{suffix}",
                unit_name,
                unit_name.replace(name, short, 1),
                OrgKind.COUNTERPART,
                sub_order,
                city,
            )
    db.session.flush()

    for username, display, org_code, roles in CENTRAL_USERS:
        loader.user(username, display, loader.orgs[org_code], roles)
    for code, _name, short in scheme_2012.DEPARTMENTS:
        loader.user(code, f"{short} 考评联络员", loader.orgs[code], [Role.DEPARTMENT])
    for code, _name, short in plan_2012.CITIES:
        loader.user(code, f"{short}市 绩效联络员", loader.orgs[code], [Role.CITY])
        suffix = scheme_2012.COUNTERPART_UNITS[0][0]
        counterpart = loader.orgs[f"{code}-{suffix}"]
        loader.user(counterpart.code, f"{counterpart.short_name} 联络员", counterpart, [Role.CITY])

    scheme = Scheme.by_code(SCHEME_CODE)
    if scheme is None:
        scheme = Scheme(
            code=SCHEME_CODE,
            name="省政府对各市政府绩效考评",
            evaluator_org=loader.orgs["office"],
            evaluated_kind=OrgKind.CITY,
        )
        db.session.add(scheme)
        report.count("schemes")
    db.session.flush()
    if SchemeYear.find(scheme, DEMO_YEAR) is None:
        _load_framework(scheme, loader.orgs)
        report.count("scheme years")
    db.session.flush()
    return report


def _load_framework(scheme: Scheme, orgs: dict[str, OrgUnit]) -> SchemeYear:
    scheme_year = SchemeYear(
        scheme=scheme,
        year=DEMO_YEAR,
        title="2012年度省政府对各市政府绩效考评指标体系",
        status=YearStatus.DRAFT,  # formed through the 2012 cycle: declaration, experts, leadership
        total_weight=TOTAL_WEIGHT,
    )
    db.session.add(scheme_year)
    by_number: dict[int, KeyPoint] = {}
    level_no = point_no = 0
    for dim_no, (dim_name, levels) in enumerate(plan_2012.FRAMEWORK, start=1):
        dimension = Dimension(scheme_year=scheme_year, number=dim_no, code=f"D{dim_no}", name=dim_name)
        for level_name, points in levels:
            level_no += 1
            level = Level(
                scheme_year=scheme_year,
                dimension=dimension,
                number=level_no,
                code=f"L{level_no:02d}",
                name=level_name,
            )
            for point_name in points:
                point_no += 1
                by_number[point_no] = KeyPoint(
                    scheme_year=scheme_year, level=level, number=point_no, name=point_name
                )
    for seq, (point, code, name, weight, owner, unit, rule) in enumerate(scheme_2012.INDICATORS, start=1):
        indicator = Indicator(
            scheme_year=scheme_year,
            key_point=by_number[point],
            seq=seq,
            code=code,
            name=name,
            weight=Decimal(str(weight)),
            owner=orgs[owner],
            unit=unit,
            scoring_rule=rule,
        )
        indicator.co_owner_rows = [IndicatorCoOwner(org=orgs[c]) for c in scheme_2012.CO_OWNERS.get(code, [])]
        db.session.add(indicator)
    return scheme_year
