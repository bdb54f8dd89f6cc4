"""The plan's scoring rules: bounds, fraud, totals, the 20/80 formula, display rounding, ranks and awards."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.rules.scoring import (
    PROCESS_RULES,
    InvalidScore,
    ScoreOutOfRange,
    annual_total,
    as_score,
    check_score,
    competition_ranks,
    dimension_ranks,
    display,
    effective_score,
    excellence_awards,
    lost_points,
    process_score,
    round_total,
)

# -- strategies ---------------------------------------------------------------------------------------

weights = st.decimals(min_value=0, max_value=1000, places=2)
any_decimals = st.decimals(allow_nan=True, allow_infinity=True)
round_totals = st.decimals(min_value=0, max_value=1000, places=2)
# three decimals over a narrow range: many totals that differ but display the same
close_totals = st.decimals(min_value=D("89.990"), max_value=D("90.020"), places=3)
cities = st.text(alphabet="abcdefgh", min_size=1, max_size=3)
city_totals = st.dictionaries(cities, close_totals | round_totals, max_size=12)


@st.composite
def weight_and_score(draw: st.DrawFn) -> tuple[D, D]:
    weight = draw(weights)
    return weight, draw(st.decimals(min_value=0, max_value=weight, places=2))


@st.composite
def weight_pairs(draw: st.DrawFn) -> tuple[D, D]:
    w1 = draw(st.decimals(min_value=0, max_value=1, places=3))
    return w1, 1 - w1


def strictly_higher(totals: dict[str, D], city: str) -> int:
    return sum(1 for other in totals.values() if display(other) > display(totals[city]))


# -- as_score -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.5", D("12.5")),
        (" 3 ", D(3)),
        ("0", D(0)),
        ("0.01", D("0.01")),
        ("100.00", D(100)),
        ("12.500", D("12.5")),  # trailing zeros are not extra decimals
        ("1e2", D(100)),
        (7, D(7)),
        (D("45.25"), D("45.25")),
        (12.5, D("12.5")),  # a spreadsheet float reads by its shortest repr
        ("-1", D(-1)),  # parsing does not check the range; check_score does
    ],
)
def test_as_score_parses_numbers(value: object, expected: D) -> None:
    assert as_score(value) == expected  # type: ignore[arg-type]


def test_as_score_reads_minus_zero_as_zero() -> None:
    assert not as_score("-0").is_signed()


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "",
        "   ",
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-inf",
        "1.234",
        "0.001",
        "12.5.1",
        "1,5",
        None,
        True,
    ]
    + [D("NaN"), D("Infinity"), D("0.125"), 0.1 + 0.2],
)
def test_as_score_rejects_what_is_not_a_two_decimal_number(value: object) -> None:
    with pytest.raises(InvalidScore) as caught:
        as_score(value)  # type: ignore[arg-type]
    assert caught.value.value is value
    assert isinstance(caught.value, ValueError)


def test_invalid_score_message_names_the_value() -> None:
    with pytest.raises(InvalidScore, match="abc"):
        as_score(" abc ")


@settings(deadline=None)
@given(st.decimals(min_value=-10_000, max_value=10_000, places=2))
def test_as_score_reads_back_any_two_decimal_number(value: D) -> None:
    assert as_score(str(value)) == value


@settings(deadline=None)
@given(st.integers(min_value=-(10**6), max_value=10**6).filter(lambda n: n % 10))
def test_as_score_rejects_any_third_decimal(thousandths: int) -> None:
    with pytest.raises(InvalidScore):
        as_score(str(D(thousandths).scaleb(-3)))


# -- check_score --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "weight"), [(D(0), D(10)), (D(10), D(10)), (D("0.01"), D(10)), (D("9.99"), D(10))]
)
@pytest.mark.parametrize("as_int_weight", [False, True])
def test_check_score_accepts_the_closed_range(score: D, weight: D, as_int_weight: bool) -> None:
    assert check_score(score, int(weight) if as_int_weight else weight) is None


def test_check_score_accepts_zero_of_a_zero_weight() -> None:
    check_score(D(0), D(0))


@pytest.mark.parametrize(
    "score", [D("10.01"), D("-0.01"), D(11), D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity"), -1]
)
def test_check_score_refuses_instead_of_clamping(score: D) -> None:
    with pytest.raises(ScoreOutOfRange, match="weight 10") as caught:
        check_score(score, D(10))
    assert caught.value.score is score
    assert caught.value.weight == D(10)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("weight", [D("-1"), D("NaN"), D("Infinity")])
def test_check_score_refuses_a_bad_weight_as_a_weight_problem(weight: D) -> None:
    with pytest.raises(ValueError, match="weight") as caught:
        check_score(D(0), weight)
    assert not isinstance(caught.value, ScoreOutOfRange)


@pytest.mark.parametrize("score", ["5", 5.0, True])
def test_check_score_wants_a_number_not_text_or_float(score: object) -> None:
    with pytest.raises(TypeError):
        check_score(score, D(10))  # type: ignore[arg-type]


@settings(deadline=None)
@given(any_decimals, weights)
def test_a_checked_score_lies_between_zero_and_the_weight(score: D, weight: D) -> None:
    in_range = score.is_finite() and D(0) <= score <= weight
    try:
        check_score(score, weight)
    except ScoreOutOfRange:
        assert not in_range
    else:
        assert in_range


# -- effective_score, lost_points ---------------------------------------------------------------------


def test_fraud_zeroes_the_indicator() -> None:
    assert effective_score(D("8.5"), D(10), fraud=True) == 0
    assert effective_score(D("8.5"), D(10), fraud=False) == D("8.5")


def test_fraud_does_not_hide_an_out_of_range_score() -> None:
    with pytest.raises(ScoreOutOfRange):
        effective_score(D("10.01"), D(10), fraud=True)


@settings(deadline=None)
@given(weight_and_score(), st.booleans())
def test_effective_score_is_zero_with_fraud_and_the_score_without(pair: tuple[D, D], fraud: bool) -> None:
    weight, score = pair
    assert effective_score(score, weight, fraud) == (0 if fraud else score)


@pytest.mark.parametrize(
    ("weight", "score", "lost"), [(D(10), D("7.5"), D("2.5")), (D(10), D(0), D(10)), (D(10), D(10), D(0))]
)
def test_lost_points_is_weight_minus_score(weight: D, score: D, lost: D) -> None:
    assert lost_points(weight, score) == lost


def test_lost_points_refuses_an_out_of_range_score() -> None:
    with pytest.raises(ScoreOutOfRange):
        lost_points(D(10), D("10.01"))


@settings(deadline=None)
@given(weight_and_score())
def test_lost_points_lies_between_zero_and_the_weight(pair: tuple[D, D]) -> None:
    weight, score = pair
    assert 0 <= lost_points(weight, score) <= weight
    assert lost_points(weight, score) + score == weight


# -- round_total --------------------------------------------------------------------------------------


def test_round_total_is_the_sum() -> None:
    assert round_total({"I001": D("12.5"), "I002": D("30"), "I003": D("0.25")}) == D("42.75")
    assert round_total({}) == 0


def test_round_total_is_exact_beyond_the_default_precision() -> None:
    big = D("1234567890123456789012345678.91")  # 30 digits: the default context would round the sum
    assert round_total({"a": big, "b": D("0.01")}) == D("1234567890123456789012345678.92")


def test_round_total_names_a_score_that_is_not_finite() -> None:
    with pytest.raises(ValueError, match="I002"):
        round_total({"I001": D(1), "I002": D("NaN")})


@settings(deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=4), weight_and_score(), max_size=30))
def test_round_total_is_the_sum_and_never_above_the_weights(indicators: dict[str, tuple[D, D]]) -> None:
    scores = {code: score for code, (_, score) in indicators.items()}
    total = round_total(scores)
    assert total == sum(scores.values(), D(0))
    assert 0 <= total <= sum((weight for weight, _ in indicators.values()), D(0))


# -- process_score ------------------------------------------------------------------------------------


def test_process_score_is_the_mean_by_default() -> None:
    assert process_score(D("812.5"), D("790")) == D("801.25")


def test_process_score_mean_is_not_rounded() -> None:
    assert process_score(D("0.01"), D("0.02")) == D("0.015")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("mean", D("801.25")), ("min", D(790)), ("max", D("812.5")), ("latest", D(790))],
)
def test_process_score_rules(rule: str, expected: D) -> None:
    assert process_score(D("812.5"), D("790"), rule) == expected


def test_latest_is_the_q3_round_even_when_lower_or_higher() -> None:
    assert process_score(D(700), D(800), "latest") == D(800)
    assert process_score(D(800), D(700), "latest") == D(700)


@pytest.mark.parametrize("rule", ["half_year_weighted", "Mean", "", "average"])
def test_process_score_names_an_unknown_rule(rule: str) -> None:
    with pytest.raises(ValueError, match=f"'{rule}'"):
        process_score(D(1), D(2), rule)


def test_every_listed_rule_is_supported() -> None:
    assert {process_score(D(1), D(2), rule) for rule in PROCESS_RULES} == {D("1.5"), D(1), D(2)}


@settings(deadline=None)
@given(round_totals, round_totals, st.sampled_from(PROCESS_RULES))
def test_process_score_lies_between_the_two_rounds(half_year: D, q3: D, rule: str) -> None:
    assert min(half_year, q3) <= process_score(half_year, q3, rule) <= max(half_year, q3)


@settings(deadline=None)
@given(round_totals, round_totals)
def test_the_mean_is_exact(half_year: D, q3: D) -> None:
    assert process_score(half_year, q3) * 2 == half_year + q3


# -- annual_total -------------------------------------------------------------------------------------


def test_annual_total_is_process_20_percent_and_year_end_80_percent() -> None:
    process = process_score(D("812.5"), D("790"))
    assert annual_total(process, D(900)) == D("801.25") * D("0.2") + D(900) * D("0.8") == D("880.25")


def test_annual_total_takes_the_schemes_weights() -> None:
    assert annual_total(D(800), D(900), D("0.5"), D("0.5")) == D(850)
    assert annual_total(D(800), D(900), D(1), D(0)) == D(800)


@pytest.mark.parametrize(
    ("w1", "w2"), [(D("0.2"), D("0.7")), (D("0.3"), D("0.8")), (D("-0.2"), D("1.2")), (D("NaN"), D("0.8"))]
)
def test_annual_total_refuses_weights_that_are_negative_or_do_not_sum_to_one(w1: D, w2: D) -> None:
    with pytest.raises(ValueError):
        annual_total(D(800), D(900), w1, w2)


@settings(deadline=None)
@given(round_totals, round_totals, weight_pairs())
def test_annual_total_lies_between_process_and_year_end(process: D, year_end: D, pair: tuple[D, D]) -> None:
    total = annual_total(process, year_end, *pair)
    assert min(process, year_end) <= total <= max(process, year_end)


# -- display ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (D("2.345"), "2.35"),
        (D("2.344"), "2.34"),
        (D("2.325"), "2.33"),  # half-even would give 2.32
        (D("-2.345"), "-2.35"),
        (D(2), "2.00"),
        (D("801.25"), "801.25"),
        (D("0.005"), "0.01"),
        (D("0.0049999"), "0.00"),
    ],
)
def test_display_rounds_half_up_to_two_decimals(value: D, shown: str) -> None:
    assert str(display(value)) == shown


def test_display_takes_other_places() -> None:
    assert str(display(D("2.5"), places=0)) == "3"
    assert str(display(D("2.3456"), places=3)) == "2.346"


def test_display_handles_values_beyond_the_default_precision() -> None:
    assert display(D("12345678901234567890123456789.125")) == D("12345678901234567890123456789.13")


@settings(deadline=None)
@given(st.decimals(min_value=-10_000, max_value=10_000, places=6))
def test_display_is_within_half_a_cent_and_idempotent(value: D) -> None:
    shown = display(value)
    assert shown.as_tuple().exponent == -2
    assert abs(shown - value) <= D("0.005")
    assert display(shown) == shown


# -- competition_ranks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        ({"a": D(90), "b": D(90), "c": D(80)}, {"a": 1, "b": 1, "c": 3}),
        ({"a": D(90), "b": D(85), "c": D(85), "d": D(70)}, {"a": 1, "b": 2, "c": 2, "d": 4}),
        ({"a": D(5), "b": D(5), "c": D(5)}, {"a": 1, "b": 1, "c": 1}),
        ({"a": D(1), "b": D(2), "c": D(3)}, {"c": 1, "b": 2, "a": 3}),
        ({"only": D(0)}, {"only": 1}),
        ({}, {}),
    ],
)
def test_competition_ranks(totals: dict[str, D], expected: dict[str, int]) -> None:
    assert competition_ranks(totals) == expected


def test_ties_are_decided_on_the_displayed_total() -> None:
    # 90.004 and 90.001 both show as 90.00; 90.005 shows as 90.01
    ranks = competition_ranks({"a": D("90.004"), "b": D("90.001"), "c": D("90.005")})
    assert ranks == {"c": 1, "a": 2, "b": 2}


def test_ranks_come_in_rank_order_then_by_name() -> None:
    ranks = competition_ranks({"dalian": D(80), "anshan": D(90), "shenyang": D(90), "benxi": D(90)})
    assert list(ranks.items()) == [("anshan", 1), ("benxi", 1), ("shenyang", 1), ("dalian", 4)]


def test_competition_ranks_on_whole_numbers() -> None:
    assert competition_ranks({"a": D("90.4"), "b": D("89.5")}, places=0) == {"a": 1, "b": 1}


def test_competition_ranks_refuses_a_total_that_is_not_finite() -> None:
    with pytest.raises(ValueError):
        competition_ranks({"a": D("NaN")})


@settings(deadline=None)
@given(city_totals)
def test_rank_is_one_plus_the_cities_strictly_above(totals: dict[str, D]) -> None:
    ranks = competition_ranks(totals)
    assert set(ranks) == set(totals)
    for city, rank in ranks.items():
        assert rank == 1 + strictly_higher(totals, city)
        # cities sharing rank r are the only ones between r and the next rank
        assert sum(1 for other in ranks.values() if other < rank) == rank - 1
    if totals:
        assert 1 in ranks.values()
        assert max(ranks.values()) <= len(totals)


@settings(deadline=None)
@given(city_totals, st.data())
def test_ranks_do_not_depend_on_the_input_order(totals: dict[str, D], data: st.DataObject) -> None:
    shuffled = dict(data.draw(st.permutations(list(totals.items()))))
    assert list(competition_ranks(shuffled).items()) == list(competition_ranks(totals).items())


# -- dimension_ranks ----------------------------------------------------------------------------------


def test_dimension_ranks_rank_each_dimension_separately() -> None:
    scores = {
        "shenyang": {"economy": D(90), "people": D(70)},
        "dalian": {"economy": D(95), "people": D(70)},
        "anshan": {"economy": D(90), "people": D(60)},
    }
    assert dimension_ranks(scores) == {
        "economy": {"dalian": 1, "anshan": 2, "shenyang": 2},
        "people": {"dalian": 1, "shenyang": 1, "anshan": 3},
    }


def test_a_city_without_a_dimension_score_is_left_out_of_that_ranking() -> None:
    scores = {"a": {"x": D(1), "y": D(2)}, "b": {"x": D(3)}}
    assert dimension_ranks(scores) == {"x": {"b": 1, "a": 2}, "y": {"a": 1}}


@settings(deadline=None)
@given(st.dictionaries(cities, st.dictionaries(st.sampled_from(["x", "y", "z"]), close_totals), max_size=8))
def test_dimension_ranks_are_the_competition_ranks_of_each_column(scores: dict[str, dict[str, D]]) -> None:
    ranks = dimension_ranks(scores)
    dimensions = {dimension for row in scores.values() for dimension in row}
    assert set(ranks) == dimensions
    for dimension in dimensions:
        column = {city: row[dimension] for city, row in scores.items() if dimension in row}
        assert ranks[dimension] == competition_ranks(column)


# -- excellence_awards --------------------------------------------------------------------------------


def test_awards_include_every_city_tied_at_the_boundary() -> None:
    scores = {"kp1": {"a": D(99), "b": D(98), "c": D(97), "d": D(97), "e": D(96)}}
    assert excellence_awards(scores, ["kp1"], top_n=3) == {"kp1": ["a", "b", "c", "d"]}


def test_awards_skip_the_rank_after_a_tie() -> None:
    # ranks 1, 1, 3: top 2 is the two tied cities only
    scores = {"kp1": {"a": D(90), "b": D(90), "c": D(80)}}
    assert excellence_awards(scores, ["kp1"], top_n=2) == {"kp1": ["a", "b"]}


def test_awards_list_cities_in_rank_order_then_by_name() -> None:
    scores = {"kp": {"zhuang": D(99), "dalian": D(80), "benxi": D(80), "anshan": D(70)}}
    assert excellence_awards(scores, ["kp"], top_n=3) == {"kp": ["zhuang", "benxi", "dalian"]}


def test_awards_only_for_designated_key_points() -> None:
    scores = {1: {"a": D(1), "b": D(2)}, 2: {"a": D(2), "b": D(1)}, 3: {"a": D(5)}}
    assert excellence_awards(scores, [2, 1], top_n=1) == {2: ["a"], 1: ["b"]}


def test_awards_with_fewer_cities_than_places_go_to_all() -> None:
    assert excellence_awards({"kp": {"a": D(1), "b": D(2)}}, ["kp"], top_n=5) == {"kp": ["b", "a"]}


@pytest.mark.parametrize("top_n", [0, -1, True])
def test_awards_need_at_least_one_place(top_n: int) -> None:
    with pytest.raises(ValueError, match="top_n"):
        excellence_awards({"kp": {"a": D(1)}}, ["kp"], top_n=top_n)


def test_a_designated_key_point_without_scores_is_an_error() -> None:
    with pytest.raises(ValueError, match="kp9"):
        excellence_awards({"kp": {"a": D(1)}}, ["kp9"], top_n=1)


@settings(deadline=None)
@given(city_totals, st.integers(min_value=1, max_value=6))
def test_awards_are_exactly_the_cities_ranked_within_the_top_n(totals: dict[str, D], top_n: int) -> None:
    awarded = excellence_awards({"kp": totals}, ["kp"], top_n)["kp"]
    assert sorted(awarded) == sorted(city for city in totals if strictly_higher(totals, city) < top_n)
    assert len(awarded) >= min(top_n, len(totals))
    assert awarded == [city for city in competition_ranks(totals) if city in awarded]


# -- award eligibility (a city with fraud on a key point is not eligible for its award) ---------------


def test_an_ineligible_city_tied_at_the_top_is_left_out_and_the_place_stays_with_the_tie() -> None:
    scores = {"kp": {"cheat": D(90), "a": D(90), "b": D(80), "c": D(70)}}
    assert excellence_awards(scores, ["kp"], top_n=1) == {"kp": ["a", "cheat"]}
    assert excellence_awards(scores, ["kp"], top_n=1, ineligible={"kp": {"cheat"}}) == {"kp": ["a"]}


def test_an_ineligible_city_gives_its_place_to_the_next_eligible_one() -> None:
    scores = {"kp": {"cheat": D(95), "a": D(90), "b": D(80), "c": D(80), "d": D(70)}}
    # without the cheat the ranking is a 1, b 2, c 2: two places go to all three (the tie at the boundary)
    assert excellence_awards(scores, ["kp"], top_n=2, ineligible={"kp": ["cheat"]}) == {"kp": ["a", "b", "c"]}


def test_ineligibility_is_per_key_point() -> None:
    scores = {1: {"cheat": D(9), "a": D(1)}, 2: {"cheat": D(9), "a": D(1)}}
    assert excellence_awards(scores, [1, 2], top_n=1, ineligible={1: {"cheat"}}) == {1: ["a"], 2: ["cheat"]}


@settings(deadline=None)
@given(city_totals, st.integers(min_value=1, max_value=6), st.data())
def test_ineligible_cities_are_never_awarded_and_the_rest_are_ranked_without_them(
    totals: dict[str, D], top_n: int, data: st.DataObject
) -> None:
    barred = data.draw(st.sets(st.sampled_from(sorted(totals))) if totals else st.just(set()))
    awarded = excellence_awards({"kp": totals}, ["kp"], top_n, {"kp": barred})["kp"]
    eligible = {city: total for city, total in totals.items() if city not in barred}
    assert not set(awarded) & barred
    # exactly the eligible cities with fewer than top_n eligible cities displayed strictly above them
    assert sorted(awarded) == sorted(city for city in eligible if strictly_higher(eligible, city) < top_n)
    assert len(awarded) >= min(top_n, len(eligible))
