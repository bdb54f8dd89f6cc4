"""Results as the task API gives them: names beside codes, Decimals as text with two places."""

from __future__ import annotations

from typing import Any

from models.evaluation import EvaluationRound, RoundKind
from models.org import OrgUnit, User
from models.scheme import SchemeYear
from webapp.domain.numbers import two_places
from webapp.domain.results import queries as results
from webapp.domain.system import queries as indicator_service


class Names:
    """The year's cities, indicators and key points by code, read once for a response."""

    def __init__(self, scheme_year: SchemeYear) -> None:
        self.cities = {c.code: c for c in results.cities()}
        self.indicators = {i.code: i for i in scheme_year.indicators()}
        self.key_points = {str(p.number): p for p in indicator_service.key_points(scheme_year)}

    def city(self, code: str) -> dict[str, Any]:
        unit: OrgUnit | None = self.cities.get(code)
        return {
            "code": code,
            "name": unit.name if unit else code,
            "short_name": unit.short_name if unit else code,
        }

    def indicator(self, code: str) -> dict[str, Any]:
        ind = self.indicators.get(code)
        if ind is None:
            return {"code": code, "name": code}
        return {"code": code, "name": ind.name, "weight": two_places(ind.weight), "unit": ind.unit or ""}

    def key_point(self, number: str | int) -> dict[str, Any]:
        point = self.key_points.get(str(number))
        return {"number": int(number), "name": point.name if point else str(number)}


def round_json(
    round_: EvaluationRound, data: dict[str, Any], names: Names, user: User, version: int | None = None
) -> dict[str, Any]:
    """A round's results; each city's dimensions and lines only for insiders and the city itself."""
    insider, own = user.is_insider(), user.org.root().code
    versions = results.publications(round_)
    shown = next((p for p in versions if p.version == version), versions[-1] if versions else None)
    cities = []
    for entry in data.get("cities", []):
        item: dict[str, Any] = {
            "city": names.city(entry["city"]),
            "total": two_places(entry["total"]),
            "rank": entry["rank"],
        }
        if insider or entry["city"] == own:
            ranks = entry.get("dimension_ranks", {})
            item["dimensions"] = [
                {"name": name, "score": two_places(score), "rank": ranks.get(name)}
                for name, score in entry.get("dimensions", {}).items()
            ]
            item["lines"] = [
                {
                    "indicator": names.indicator(line["code"]),
                    "score": two_places(line["score"]),
                    "lost": two_places(line["lost"]),
                    "fraud": line.get("fraud", False),
                    "missing": line.get("missing", False),
                    "reason": line.get("reason", ""),
                }
                for line in entry.get("lines", [])
            ]
        cities.append(item)
    out: dict[str, Any] = {
        "round": {"code": round_.kind.value, "name": round_.kind.title},
        "status": {"code": round_.status.value, "name": round_.status.title},
        "max_total": two_places(data.get("max_total")),
        "version": shown.version if shown else None,
        "versions": [
            {
                "version": p.version,
                "kind": p.kind.value,
                "published_at": p.published_at.isoformat(),
                "reason": p.reason_text,
            }
            for p in versions
        ],
        "cities": cities,
    }
    if insider:
        out["key_points"] = [
            {
                "key_point": names.key_point(number),
                "scores": [{"city": names.city(c), "score": two_places(v)} for c, v in scores.items()],
            }
            for number, scores in data.get("key_points", {}).items()
        ]
    return out


def annual_json(data: dict[str, Any], published: bool, names: Names) -> dict[str, Any]:
    """The year's results: each city's rounds, process score and total, the awards and the fraud found."""
    return {
        "published": published,
        "process_rule": data.get("process_rule"),
        "process_weight": two_places(data.get("process_weight")),
        "year_end_weight": two_places(data.get("year_end_weight")),
        "fraud_bars_award": data.get("fraud_bars_award", True),  # results computed before the rule: on
        "cities": [
            {
                "city": names.city(row["city"]),
                **{
                    key: two_places(row[key])
                    for key in ("half_year", "q3", "process_score", "year_end", "total")
                    if key in row
                },
                "rank": row["rank"],
            }
            for row in data.get("cities", [])
        ],
        "awards": [
            {"key_point": names.key_point(number), "cities": [names.city(c) for c in cities]}
            for number, cities in data.get("awards", {}).items()
        ],
        "award_ineligible": [
            {"key_point": names.key_point(number), "cities": [names.city(c) for c in cities]}
            for number, cities in data.get("award_ineligible", {}).items()
        ],
        "fraud": [
            {"city": names.city(f["city"]), "indicator": names.indicator(f["indicator"])}
            for f in data.get("fraud", [])
        ],
    }


def round_kind(kind: str) -> RoundKind | None:
    return RoundKind(kind) if kind in {k.value for k in RoundKind} else None


def tree_json(tree: dict[str, Any]) -> dict[str, Any]:
    """The year's indicator system with its weights as two-place text and departments named beside their codes."""
    departments = {d.code: d.name for d in indicator_service.departments()}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(inner) for inner in node]
        if not isinstance(node, dict):
            return node
        out = {
            key: two_places(v) if key in ("weight", "total_weight") else walk(v) for key, v in node.items()
        }
        if "owner_department" in node:
            out["owner_department_name"] = departments.get(node["owner_department"], node["owner_department"])
            out["co_owner_names"] = [departments.get(c, c) for c in node.get("co_owners", [])]
        return out

    return walk(tree)
