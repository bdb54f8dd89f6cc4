"""The demo load: the plan's framework exactly, 117 indicators on 1,000 points, users for every role, idempotence."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import func, select

from models.db import db
from models.org import OrgKind, OrgUnit, Role, User
from models.scheme import Dimension, Indicator, KeyPoint, Level
from tests.conftest import DEMO_PASSWORD

# The plan's table, typed in from the 2012 plan independently of the demo module.
PLAN_KEY_POINTS = [
    "三大区域战略",
    "生活水平",
    "民生工程",
    "就业创业",
    "社会保障",
    "教育发展",
    "医疗卫生",
    "体育发展",
    "经济增长水平",
    "县域经济发展",
    "工业五项工程",
    "服务业发展",
    "非公经济发展",
    "项目建设进度",
    "科技创新",
    "诚信建设",
    "食品药品安全",
    "生产安全",
    "应急管理",
    "治安防控",
    "权益保障",
    "人口均衡发展",
    "民族团结创建",
    "文化事业发展",
    "文化产业壮大",
    "文化体制改革",
    "文化经费投入",
    "土地资源集约利用",
    "水资源节约",
    "节能降耗",
    "青山工程",
    "碧水工程",
    "蓝天工程",
    "地质环境治理",
    "固体废弃物治理",
    "规范行政行为",
    "优化政务环境",
    "推进审批改革",
    "强化机构管理",
    "加强队伍建设",
    "自觉接受监督",
    "“五大系统”建设",
]
PLAN_DIMENSIONS = ["战略发展", "人民幸福", "经济振兴", "社会和谐", "文化繁荣", "生态文明", "自身建设"]
PLAN_LEVELS = [
    "区域战略",
    "生活富庶",
    "民生改善",
    "公共服务",
    "经济增长",
    "结构优化",
    "经济潜力",
    "社会管理",
    "文化发展",
    "资源节约",
    "环境保护",
    "依法行政",
    "高效行政",
    "勤政廉政",
]
PLAN_CITIES = [
    "沈阳",
    "大连",
    "鞍山",
    "抚顺",
    "本溪",
    "丹东",
    "锦州",
    "营口",
    "阜新",
    "辽阳",
    "盘锦",
    "铁岭",
    "朝阳",
    "葫芦岛",
]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot() -> dict:
    tables = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        tables[table.name] = [tuple(row) for row in rows]
    return tables


def test_framework_is_the_plans_table(ctx, demo):
    assert [
        d.name for d in db.session.scalars(select(Dimension).order_by(Dimension.number))
    ] == PLAN_DIMENSIONS
    assert [lv.name for lv in db.session.scalars(select(Level).order_by(Level.number))] == PLAN_LEVELS
    points = db.session.scalars(select(KeyPoint).order_by(KeyPoint.number)).all()
    assert [p.name for p in points] == PLAN_KEY_POINTS
    assert [p.number for p in points] == list(range(1, 43))
    assert (count(Dimension), count(Level), count(KeyPoint), count(Indicator)) == (7, 14, 42, 117)


def test_indicators_weigh_exactly_1000_and_every_key_point_has_one(ctx, demo):
    indicators = db.session.scalars(select(Indicator)).all()
    assert sum((i.weight for i in indicators), Decimal(0)) == Decimal(1000)
    assert all(i.weight > 0 and i.unit and i.scoring_rule for i in indicators)
    assert {i.key_point_id for i in indicators} == {p.id for p in db.session.scalars(select(KeyPoint))}
    assert len({i.code for i in indicators}) == 117


def test_every_department_owns_an_indicator(ctx, demo):
    departments = db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT)).all()
    assert len(departments) == 46
    owners = set(db.session.scalars(select(Indicator.owner_id).distinct()))
    assert {d.id for d in departments} <= owners
    assert len({d.name for d in departments}) == 46


def test_cities_and_their_counterpart_departments(ctx, demo):
    cities = db.session.scalars(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.CITY).order_by(OrgUnit.sort_order)
    ).all()
    assert [c.short_name for c in cities] == PLAN_CITIES
    assert all(
        len(c.children) >= 1 and all(ch.kind == OrgKind.COUNTERPART for ch in c.children) for c in cities
    )


def test_demo_users_cover_every_role_city_and_department(ctx, demo):
    users = db.session.scalars(select(User)).all()
    roles = {r for u in users for r in u.roles}
    assert roles == set(Role)
    covered = {u.org.code for u in users}
    orgs = db.session.scalars(
        select(OrgUnit).where(OrgUnit.kind.in_([OrgKind.CITY, OrgKind.DEPARTMENT]))
    ).all()
    assert {o.code for o in orgs} <= covered
    assert all(u.check_password(DEMO_PASSWORD) for u in users[:3])


def test_loading_twice_changes_nothing(ctx, demo):
    from webapp.demo.load import load_demo

    before = snapshot()
    report = load_demo(DEMO_PASSWORD, "test")
    db.session.commit()
    assert report.created == {}
    assert snapshot() == before


def test_demo_password_is_generated_once_and_kept_in_the_instance_folder(tmp_path):
    from webapp.demo.load import demo_password

    path = tmp_path / "demo-password.txt"
    first, source = demo_password(None, str(path))
    assert source == str(path) and len(first) >= 12
    assert path.stat().st_mode & 0o077 == 0, "only the owner may read the password file"
    assert demo_password(None, str(path))[0] == first
    assert demo_password("From-env-123", str(path)) == ("From-env-123", "JIXIAO_DEMO_PASSWORD")


def test_cli_demo_load_users_list_and_export(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD in result.output and "shenyang" in result.output
    again = runner.invoke(args=["demo", "load"])
    assert "nothing new" in again.output

    users = json.loads(runner.invoke(args=["users", "list", "--json"]).output)
    sy = next(u for u in users if u["username"] == "shenyang")
    assert sy == {
        "username": "shenyang",
        "display_name": sy["display_name"],
        "org_code": "shenyang",
        "org_name": "沈阳市",
        "org_kind": "city",
        "roles": ["city"],
        "active": True,
    }

    result = runner.invoke(args=["indicators", "export", "--year", "2012", "--format", "json"])
    tree = json.loads(result.output)
    assert tree["year"] == 2012 and tree["total_weight"] == 1000
    assert [d["name"] for d in tree["dimensions"]] == PLAN_DIMENSIONS
    point = tree["dimensions"][2]["levels"][0]["key_points"][0]
    assert (point["number"], point["name"]) == (9, "经济增长水平")
    indicator = point["indicators"][0]
    assert set(indicator) >= {"code", "name", "weight", "owner_department"}
    weights = [
        i["weight"]
        for d in tree["dimensions"]
        for lv in d["levels"]
        for p in lv["key_points"]
        for i in p["indicators"]
    ]
    assert len(weights) == 117 and sum(weights) == 1000


def test_export_of_a_missing_year_says_so(app, demo):
    result = app.test_cli_runner().invoke(args=["indicators", "export", "--year", "1999"])
    assert result.exit_code != 0
    assert "no indicator system" in result.output
