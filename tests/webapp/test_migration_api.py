"""Moving a running instance through the API: the administrator asks whether it is safe, moves it,
and gets a clear refusal otherwise; nobody else may."""

from __future__ import annotations

from models.db import db
from models.workflow import ProcessInstance
from tests.conftest import bearer
from tests.workflows.test_migration import chain, deploy
from tests.workflows.test_runtime import start


def test_an_administrator_checks_and_moves_an_instance_and_others_may_not(app, demo):
    client = app.test_client()
    with app.app_context():
        from models.org import User

        office = db.session.scalar(db.select(User).where(User.username == "office"))
        deploy(chain(("a", "First", ""), ("b", "Second", "")))
        instance_id = start("moving", office).id
        v2 = deploy(chain(("a", "First", ""), ("b", "Second", ""), ("c", "Office review", ""))).id
    admin, office_h = bearer(client, "admin"), bearer(client, "office")
    url = f"/api/v1/processes/{instance_id}/migration"

    assert client.get(f"{url}?definition_id={v2}", headers=office_h).status_code == 403
    assert client.post(url, headers=office_h, json={"definition_id": v2}).status_code == 403
    bad = client.post(url, headers=admin, json={"definition_id": "two"})
    assert bad.status_code == 422 and "definition_id" in bad.get_json()["error"]["fields"]
    assert client.get(f"{url}?definition_id=999999", headers=admin).get_json()["safe"] is False

    check = client.get(f"{url}?definition_id={v2}", headers=admin)
    assert check.status_code == 200 and check.get_json() == {"safe": True, "reasons": []}
    moved = client.post(url, headers=admin, json={"definition_id": v2})
    assert moved.status_code == 200 and moved.get_json() == {"instance_id": instance_id, "definition_id": v2}
    again = client.post(url, headers=admin, json={"definition_id": v2})
    assert again.status_code == 409 and "已在运行版本" in again.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.get(ProcessInstance, instance_id).definition_id == v2
    assert (
        client.post(
            "/api/v1/processes/999999/migration", headers=admin, json={"definition_id": v2}
        ).status_code
        == 404
    )
