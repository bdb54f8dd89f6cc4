"""The login slow-down, called as the sign-in page calls it, with the clock given rather than waited
for: a stranger's wrong passwords slow down only the (account, address) pairs that made them, an
address trying many accounts meets a ceiling, and an account under attack still takes the right
password from an address that has not failed for it. New passwords are at least 10 characters and
not easy to guess."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from models.db import utcnow
from models.org import LoginAttempt
from tests.conftest import DEMO_PASSWORD
from tests.domain.lookup import count, user
from webapp.domain import errors
from webapp.domain.accounts import operations as accounts

# The defaults: a 15-minute window, 1 s × 2^(n − 3) per pair, 100 per address, 20 per account.
POLICY = accounts.ThrottlePolicy()
START = utcnow()


def at(seconds: float) -> datetime:
    """A moment `seconds` after the module's start (every attempt is given its time)."""
    return START + timedelta(seconds=seconds)


def attempt(username: str, password: str, address: str, seconds: float, policy=POLICY):
    return accounts.authenticate(username, password, address, policy, now=at(seconds))


def wait_refused(username: str, address: str, seconds: float, policy=POLICY) -> errors.Throttled:
    """The refusal of the right password from the address at that moment."""
    with pytest.raises(errors.Throttled) as refused:
        attempt(username, DEMO_PASSWORD, address, seconds, policy)
    return refused.value


def test_wrong_passwords_from_five_addresses_do_not_lock_the_account_out(ctx, demo):
    for n in range(1, 6):
        assert attempt("office", "wrong-password", f"10.1.0.{n}", 0) is None
    assert attempt("office", DEMO_PASSWORD, "10.1.0.6", 0) == user("office")
    # Each of the five has failed once for the account: it may still try at once.
    assert attempt("office", DEMO_PASSWORD, "10.1.0.1", 0) == user("office")


def test_wrong_passwords_for_one_account_do_not_block_another_behind_the_same_address(ctx, demo):
    for seconds in (0, 0, 0, 1, 3):  # each as soon as the pair's delay allows
        assert attempt("dalian", "wrong-password", "10.2.0.1", seconds) is None
    assert count(LoginAttempt) == 5
    assert attempt("anshan", DEMO_PASSWORD, "10.2.0.1", 3) == user("anshan")
    assert wait_refused("dalian", "10.2.0.1", 3).details["rule"] == "pair"
    assert attempt("dalian", DEMO_PASSWORD, "10.2.0.2", 3) == user("dalian"), "another address is not slowed"


def test_the_pairs_delay_doubles_after_three_failures_and_ends_with_a_success(ctx, demo):
    elapsed = 0.0
    for _ in range(3):
        assert attempt("jinzhou", "wrong-password", "10.3.0.1", elapsed) is None
    waits = []
    for _ in range(5):
        refused = wait_refused("jinzhou", "10.3.0.1", elapsed)
        assert refused.status == 429 and refused.details["rule"] == "pair"
        waits.append(refused.retry_after)
        elapsed += refused.retry_after
        assert attempt("jinzhou", "wrong-password", "10.3.0.1", elapsed) is None
    assert waits == [1, 2, 4, 8, 16]
    assert wait_refused("jinzhou", "10.3.0.1", elapsed + 31).retry_after == 1, "32 s after the eighth"
    assert attempt("jinzhou", DEMO_PASSWORD, "10.3.0.1", elapsed + 32) == user("jinzhou")
    # The success starts the count again: three free failures, then a second's wait.
    for _ in range(3):
        assert attempt("jinzhou", "wrong-password", "10.3.0.1", elapsed + 33) is None
    assert wait_refused("jinzhou", "10.3.0.1", elapsed + 33).retry_after == 1


def test_the_pairs_delay_stops_at_fifteen_minutes():
    assert [POLICY.pair_delay(n) for n in (0, 2, 3, 4, 12, 13, 1000)] == [0, 0, 1, 2, 512, 900, 900]


def test_old_failures_leave_the_window(ctx, demo):
    for _ in range(3):
        attempt("yingkou", "wrong-password", "10.4.0.1", 0)
    assert wait_refused("yingkou", "10.4.0.1", 0.5).retry_after == 1
    later = POLICY.window_seconds + 1
    assert attempt("yingkou", DEMO_PASSWORD, "10.4.0.1", later) == user("yingkou")


def test_an_address_trying_many_accounts_meets_its_ceiling(ctx, demo):
    for n in range(POLICY.address_max_failures):
        assert attempt(f"guess-{n}", "wrong-password", "10.5.0.1", n) is None
    last = POLICY.address_max_failures - 1
    refused = wait_refused("office", "10.5.0.1", last)
    assert refused.details["rule"] == "address"
    assert refused.retry_after == POLICY.window_seconds - last, "until the oldest failure leaves the window"
    assert count(LoginAttempt) == POLICY.address_max_failures, "a refused attempt is not recorded"
    assert attempt("office", DEMO_PASSWORD, "10.5.0.2", last) == user("office"), "other addresses are not"
    assert attempt("office", DEMO_PASSWORD, "10.5.0.1", POLICY.window_seconds) == user("office")


def test_an_account_under_attack_takes_the_right_password_from_an_address_that_has_not_failed(ctx, demo):
    attackers = [f"10.6.{n // 200}.{n % 200}" for n in range(POLICY.account_busy_failures + 5)]
    for address in attackers:
        assert attempt("office", "wrong-password", address, 0) is None
    # The account is under attack: an address that has failed for it waits, though it failed once.
    refused = wait_refused("office", attackers[0], 10)
    assert refused.details["rule"] == "account" and refused.retry_after == POLICY.account_delay_seconds - 10
    # The right password from an address that has not failed for the account is always taken.
    for seconds, address in ((0, "10.7.0.1"), (1, "10.7.0.2"), (2, "10.7.0.1")):
        assert attempt("office", DEMO_PASSWORD, address, seconds) == user("office")
    # and the attackers' addresses get theirs after the account delay.
    assert attempt("office", DEMO_PASSWORD, attackers[1], POLICY.account_delay_seconds) == user("office")


def test_the_settings_are_the_policy(app):
    from webapp.security import throttle_policy

    with app.test_request_context():
        policy = throttle_policy()
    assert policy == POLICY, "the config defaults and the policy's defaults agree"


@pytest.mark.parametrize(
    "weak",
    ["aaaaaaaaaa", "password123", "1234567890", "qwertyuiop", "P@ssw0rd2024", "iloveyou12", "1qaz2wsx3edc"],
)
def test_a_new_password_that_is_easy_to_guess_is_refused_naming_the_field(ctx, demo, weak):
    office = user("office")
    with pytest.raises(errors.Invalid) as refused:
        accounts.change_password(office, DEMO_PASSWORD, weak, weak)
    assert list(refused.value.fields) == ["new_password"]
    assert refused.value.fields["new_password"][0].startswith("新密码太容易被猜到")
    assert office.check_password(DEMO_PASSWORD)


def test_a_new_password_needs_ten_characters(ctx, demo):
    with pytest.raises(errors.Invalid) as refused:
        accounts.change_password(user("office"), DEMO_PASSWORD, "Xq7#vLp2!", "Xq7#vLp2!")
    assert refused.value.fields == {"new_password": ["新密码至少需要 10 个字符。"]}


@pytest.mark.parametrize(
    "strong", [DEMO_PASSWORD, "Another-pass-2013", "Zhang-own-pass-1", "A-new-passphrase-42", "Xq7#vLp2!a"]
)
def test_the_demo_and_test_passwords_pass_the_rule(ctx, demo, strong):
    assert accounts.password_problem(user("leader"), strong) is None
