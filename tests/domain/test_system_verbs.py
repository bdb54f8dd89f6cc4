"""The indicator system's verbs called directly, with no process and no task: a declaration is called,
made, reviewed and composed into the draft; comments are written and handled; the leadership freezes
a sound system and only a sound one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from models.formation import (
    Declaration,
    DeclarationCall,
    DeclarationStatus,
    Handling,
    SystemComment,
    SystemRevision,
)
from models.org import Role
from models.scheme import YearStatus
from models.workflow import ProcessInstance
from tests.domain.lookup import count, org, user
from webapp.domain import errors
from webapp.domain.system import operations as system
from webapp.domain.system import queries

JANUARY = datetime(2012, 1, 5, 2, 0, tzinfo=UTC)
STANDARD = {
    "basis": "省政府工作报告",
    "quantifiability": "可量化",
    "decomposition": "分解到各市",
    "rewards_penalties": "奖惩分明",
}


def test_a_declaration_is_called_made_reviewed_and_composed_into_the_draft(year):
    with pytest.raises(errors.Invalid) as refused:
        system.publish_declaration_call(
            year, dict(STANDARD, basis=" "), date(2011, 12, 31), user("office"), JANUARY
        )
    assert set(refused.value.fields) == {"basis", "deadline"}
    with pytest.raises(errors.Forbidden):
        system.publish_declaration_call(year, STANDARD, date(2012, 1, 31), user("fgw"), JANUARY)
    assert count(DeclarationCall) == 0
    call = system.publish_declaration_call(year, STANDARD, date(2012, 1, 31), user("office"), JANUARY)
    assert (
        call.deadline.date() == date(2012, 1, 31)
        and queries.declaration_call_defaults(year)["basis"] == "省政府工作报告"
    )

    fgw = org("fgw")
    kept = next(i for i in year.indicators() if i.owner_id == fgw.id)
    rows = [
        {"key_point": str(kept.key_point.number), "name": kept.name, "proposed_weight": "12"},
        {"key_point": "1", "name": "新增重点项目开工率", "proposed_weight": "8.5", "target": "≥90%"},
        {"key_point": "", "name": "", "proposed_weight": None},  # a blank row is left out
    ]
    for broken, field in (
        ({"name": " "}, "indicators-0-name"),
        ({"key_point": "99"}, "indicators-0-key_point"),
        ({"proposed_weight": "0"}, "indicators-0-proposed_weight"),
    ):
        with pytest.raises(errors.Invalid) as refused:
            system.declare_indicators(year, fgw, [dict(rows[0], **broken), *rows[1:]], user("fgw"), JANUARY)
        assert list(refused.value.fields) == [field]
    with pytest.raises(errors.Invalid) as refused:
        system.declare_indicators(year, fgw, rows[2:], user("fgw"), JANUARY)
    assert list(refused.value.fields) == ["indicators"]
    with pytest.raises(errors.Forbidden):
        system.declare_indicators(year, fgw, rows, user("jyt"), JANUARY)
    assert count(Declaration) == 0

    declaration = system.declare_indicators(year, fgw, rows, user("fgw"), JANUARY)
    assert [i.name for i in declaration.items] == [kept.name, "新增重点项目开工率"]
    assert declaration.status == DeclarationStatus.SUBMITTED and declaration.submissions == 1
    with pytest.raises(errors.Forbidden):
        system.review_declaration(year, fgw, True, "", user("fgw"), JANUARY)
    system.review_declaration(year, fgw, True, "", user("office"), JANUARY)

    assert system.compose_from_declarations(year, user("office")) == 2
    composed = {i.name: i for i in year.indicators()}
    assert set(composed) == {kept.name, "新增重点项目开工率"}
    assert composed[kept.name].code == kept.code and composed[kept.name].weight == Decimal(12)
    assert count(ProcessInstance) == 0


def test_comments_are_written_and_every_one_is_handled(year):
    first, second = year.indicators()[:2]
    rows = [{"code": first.code, "comment": "口径需细化"}, {"code": second.code, "comment": " "}]
    with pytest.raises(errors.Forbidden):
        system.comment_on_system(year, "", rows, user("shenyang"), Role.EXPERT, JANUARY)
    with pytest.raises(errors.Invalid):
        system.comment_on_system(
            year, "", [{"code": "I999", "comment": "?"}], user("expert1"), Role.EXPERT, JANUARY
        )
    assert system.comment_on_system(year, "总体合理", rows, user("expert1"), Role.EXPERT, JANUARY) == 2
    assert system.comment_on_system(year, "", rows, user("shenyang"), Role.CITY, JANUARY) == 1
    comments = queries.year_comments(year.id)
    assert [(c.indicator_code, c.source.value) for c in comments] == [
        ("", "expert"),
        (first.code, "expert"),
        (first.code, "city"),
    ]

    handling = [{"comment_id": str(c.id), "handling": "adopted", "reason": ""} for c in comments]
    with pytest.raises(errors.Invalid) as refused:
        system.handle_comments(year, handling[1:], user("office"), JANUARY)
    assert "" in refused.value.fields
    with pytest.raises(errors.Invalid) as refused:
        system.handle_comments(
            year, [*handling[:2], dict(handling[2], handling="not_adopted")], user("office"), JANUARY
        )
    assert list(refused.value.fields) == ["rows-2-reason"]
    with pytest.raises(errors.Forbidden):
        system.handle_comments(year, handling, user("expert1"), JANUARY)
    assert {c.handling for c in queries.year_comments(year.id)} == {Handling.PENDING}
    system.handle_comments(year, handling, user("office"), JANUARY)
    assert {c.handling for c in queries.year_comments(year.id)} == {Handling.ADOPTED}
    assert count(SystemComment) == 3


def test_only_the_leadership_freezes_and_only_a_sound_system(year):
    victim = year.indicators()[0]
    system.delete_indicator(year, user("office"), victim.code)
    with pytest.raises(errors.Conflict):
        system.approve_system(year, "", user("leader"), JANUARY)
    assert year.status == YearStatus.DRAFT and count(SystemRevision) == 0

    values = {
        "key_point": str(victim.key_point.number),
        "name": victim.name,
        "weight": str(victim.weight),
        "owner": victim.owner.code,
        "co_owners": ["not-a-department"],
    }
    restored = system.update_indicator(year, user("office"), None, values)
    assert restored.co_owners == [] and queries.check_year(year).ok
    with pytest.raises(errors.Forbidden):
        system.approve_system(year, "", user("office"), JANUARY)
    revision = system.approve_system(year, "", user("leader"), JANUARY)
    assert revision.number == 1 and year.status == YearStatus.APPROVED
    assert len(revision.snapshot["dimensions"]) == 7
    with pytest.raises(errors.Forbidden):
        system.update_indicator(year, user("office"), restored.code, values)
