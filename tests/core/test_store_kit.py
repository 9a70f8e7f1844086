"""``venomqa.stores.kit.hide_password``: every adapter's messages go through it, so every form
of DSN and URL they are given must come out without its password."""

from __future__ import annotations

import pytest
from venomqa.stores.kit import hide_password


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("postgresql://app:s3cret@127.0.0.1:5432/shop", "postgresql://app:***@127.0.0.1:5432/shop"),
        ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("amqp://guest:s3cret@127.0.0.1:5672//", "amqp://guest:***@127.0.0.1:5672//"),
        ("mysql://root:s3cret@127.0.0.1:3306/test", "mysql://root:***@127.0.0.1:3306/test"),
        ("host=h user=u password=s3cret dbname=d", "host=h user=u password=*** dbname=d"),
        ("host=h password='s3 cret' dbname=d", "host=h password=*** dbname=d"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("http://127.0.0.1:8000/a:b@c", "http://127.0.0.1:8000/a:b@c"),
    ],
)
def test_passwords_are_hidden_in_every_form(given: str, shown: str) -> None:
    assert hide_password(given) == shown
    assert "s3cret" not in hide_password(f"could not connect to {given}: refused")
