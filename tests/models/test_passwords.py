"""Password hashes: the product makes them with scrypt at its full cost; a stored hash is checked at
the cost it names, so the suite's cheaper hashes prove the same checks."""

from __future__ import annotations

from werkzeug.security import check_password_hash

from models import org
from tests.conftest import PRODUCT_PASSWORD_HASH_METHOD


def test_the_product_hashes_passwords_with_scrypt_at_its_full_cost(monkeypatch):
    monkeypatch.setattr(org, "PASSWORD_HASH_METHOD", PRODUCT_PASSWORD_HASH_METHOD)
    made = org.hash_password("Correct horse 2012")
    assert made.startswith("scrypt:32768:8:1$"), made.split("$")[0]
    assert check_password_hash(made, "Correct horse 2012")
    assert not check_password_hash(made, "correct horse 2012")


def test_each_hash_is_salted_and_checked_at_the_cost_it_names():
    first, second = org.hash_password("Demo-pass-2012!"), org.hash_password("Demo-pass-2012!")
    assert first != second, "salted"
    assert first.startswith("scrypt:1024:8:1$") and check_password_hash(first, "Demo-pass-2012!")
    assert not check_password_hash(second, "Demo-pass-2012")
