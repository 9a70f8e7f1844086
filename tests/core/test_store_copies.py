"""The names of the copies parallel workers run on (``venomqa.stores.copies``), with real inputs.

A copy's name is all that marks it as VenomQA's: ``drop_leftover_clones`` and ``venomqa
recover`` (maybe of a later run, or a later version) find a killed run's copies by name alone.
So the names must be exactly as documented (``<db>__venomqa_<label>``; a name too long for the
server, 63 bytes on PostgreSQL and 56 for the MySQL adapter, shortened at a whole character and
followed by 8 hex digits of the SHA-256 of the whole name), must fit the server's limit with the
longest label, and ``copy_label`` must recognise those names and nothing else (not the original,
not another database's copy, not a label a worker never has). ``url_with_database`` gives a
worker's API the URL of its copy: every other part of the URL (user, password, host, port, a
Unix socket directory in the query, the query itself) must come through exactly as written.
The database adapters' own tests (tests/postgres, tests/mysql) check the same against servers;
these run everywhere, in-process.
"""

from __future__ import annotations

import hashlib
from urllib.parse import unquote, urlsplit

import pytest
from venomqa.stores.copies import check_label, copy_label, copy_name, url_with_database

#: PostgreSQL's longest database name, and the MySQL adapter's (``venomqa_mysql._clone``).
POSTGRES_MAX = 63
MYSQL_MAX = 56


def _hash8(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


# -- labels and short names ------------------------------------------------------------------


@pytest.mark.parametrize("label", ["w2", "w16", "W2", "7", "abcdefgh", "a1B2c3D4"])
def test_a_label_is_one_to_eight_letters_or_digits(label: str) -> None:
    assert check_label(label) == label
    assert copy_name("shop", label) == f"shop__venomqa_{label}"
    assert copy_label(f"shop__venomqa_{label}", "shop") == label


@pytest.mark.parametrize("label", ["", "abcdefghi", "w-2", "w 2", "w_2", "wé", "w2\n"])
def test_any_other_label_is_refused_saying_what_one_is(label: str) -> None:
    message = f"a copy's label is 1 to 8 letters or digits (like 'w2'), not {label!r}"
    with pytest.raises(ValueError) as refused:
        copy_name("shop", label)
    assert str(refused.value) == message


def test_a_short_name_keeps_the_whole_original_name_for_every_server_limit() -> None:
    for limit in (POSTGRES_MAX, MYSQL_MAX, 1 << 30):
        assert copy_name("shop", "w2", limit) == "shop__venomqa_w2"
        assert copy_label("shop__venomqa_w2", "shop", limit) == "w2"


@pytest.mark.parametrize(
    "candidate",
    [
        "shop",  # the original itself
        "shop__venomqa_",  # no label
        "shop__venomqa_w2_old",  # more than a label
        "shop__venomqa_abcdefghi",  # a label too long
        "shop__venomqa_w-2",
        "shop2__venomqa_w2",  # another database's copy
        "sho__venomqa_w2",
        "x_shop__venomqa_w2",
        "shop__VENOMQA_w2",
        "shop_venomqa_w2",
    ],
)
def test_only_a_copys_name_has_a_label(candidate: str) -> None:
    assert copy_label(candidate, "shop") is None
    assert copy_label(candidate, "shop", POSTGRES_MAX) is None


# -- names too long for the server -----------------------------------------------------------


def test_the_longest_name_that_fits_with_the_longest_label_is_kept_whole() -> None:
    name = "n" * (POSTGRES_MAX - len("__venomqa_") - 8)  # 45 bytes
    longest = copy_name(name, "w1234567", POSTGRES_MAX)
    assert longest == f"{name}__venomqa_w1234567"
    assert len(longest.encode()) == POSTGRES_MAX
    assert copy_label(longest, name, POSTGRES_MAX) == "w1234567"


@pytest.mark.parametrize("limit", [POSTGRES_MAX, MYSQL_MAX])
def test_a_longer_name_is_shortened_and_hashed_so_the_longest_label_just_fits(limit: int) -> None:
    name = "customer_accounts_and_orders_of_the_shop_in_staging"  # 51 bytes
    keep = limit - len("__venomqa_") - 8 - 1 - 8  # room for the hash, its "_", a label
    prefix = f"{name[:keep]}_{_hash8(name)}__venomqa_"
    assert copy_name(name, "w2", limit) == prefix + "w2"
    longest = copy_name(name, "w1234567", limit)
    assert longest == prefix + "w1234567"
    assert len(longest.encode()) == limit
    assert copy_label(prefix + "w2", name, limit) == "w2"
    assert copy_label(prefix + "w1234567", name, limit) == "w1234567"
    assert copy_label(f"{name}__venomqa_w2", name, limit) is None  # never made at this limit


def test_a_name_one_byte_over_the_limit_is_hashed() -> None:
    name = "n" * (POSTGRES_MAX - len("__venomqa_") - 8 + 1)  # 46 bytes
    copy = copy_name(name, "w2", POSTGRES_MAX)
    assert copy == f"{'n' * 36}_{_hash8(name)}__venomqa_w2"
    assert len(copy_name(name, "w1234567", POSTGRES_MAX).encode()) == POSTGRES_MAX


def test_two_long_names_alike_in_their_kept_part_never_share_copies() -> None:
    first = "tenant_reporting_warehouse_of_the_company_" + "2023_q4"
    second = "tenant_reporting_warehouse_of_the_company_" + "2024_q1"
    assert copy_name(first, "w2", POSTGRES_MAX) != copy_name(second, "w2", POSTGRES_MAX)
    assert copy_label(copy_name(first, "w2", POSTGRES_MAX), second, POSTGRES_MAX) is None
    assert copy_label(copy_name(second, "w2", POSTGRES_MAX), first, POSTGRES_MAX) is None
    assert copy_label(copy_name(first, "w2", POSTGRES_MAX), first, POSTGRES_MAX) == "w2"


def test_a_long_name_in_another_alphabet_is_cut_at_a_whole_character() -> None:
    # 36 bytes are kept at PostgreSQL's limit: "a" and 17 two-byte letters, and half of one
    name = "a" + "é" * 30
    copy = copy_name(name, "w2", POSTGRES_MAX)
    assert copy == f"a{'é' * 17}_{_hash8(name)}__venomqa_w2"
    assert len(copy_name(name, "w1234567", POSTGRES_MAX).encode()) == POSTGRES_MAX - 1
    assert copy_label(copy, name, POSTGRES_MAX) == "w2"
    # three-byte letters at the MySQL adapter's limit: 29 bytes keep 9 of them
    name = "販売データ" * 4
    copy = copy_name(name, "w1234567", MYSQL_MAX)
    assert copy == f"販売データ販売デー_{_hash8(name)}__venomqa_w1234567"
    assert len(copy.encode()) <= MYSQL_MAX
    assert copy_label(copy, name, MYSQL_MAX) == "w1234567"


# -- the URL of a copy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "copy"),
    [
        (
            "postgresql://app:s3cret@127.0.0.1:5432/shop",
            "postgresql://app:s3cret@127.0.0.1:5432/shop__venomqa_w2",
        ),
        (
            "mysql://root@db.internal:3306/shop?charset=utf8mb4&connect_timeout=5",
            "mysql://root@db.internal:3306/shop__venomqa_w2?charset=utf8mb4&connect_timeout=5",
        ),
        (  # an empty host: the Unix socket directory is in the query
            "postgresql:///shop?host=/run/postgresql",
            "postgresql:///shop__venomqa_w2?host=/run/postgresql",
        ),
        (  # a user and a password with an X in them
            "mysql://Xavier:pXss%40word@db.example:3306/shop",
            "mysql://Xavier:pXss%40word@db.example:3306/shop__venomqa_w2",
        ),
        (  # a database with an X in its name, a query after it
            "postgresql://127.0.0.1/CRM_X?sslmode=disable",
            "postgresql://127.0.0.1/shop__venomqa_w2?sslmode=disable",
        ),
        (  # a query value that is itself a URL
            "postgresql://h:5432/shop?application_name=http://ci.example/job/7",
            "postgresql://h:5432/shop__venomqa_w2?application_name=http://ci.example/job/7",
        ),
        (  # no database: the server's default
            "mysql://root@127.0.0.1:3306",
            "mysql://root@127.0.0.1:3306/shop__venomqa_w2",
        ),
        (
            "postgresql://127.0.0.1?sslmode=disable",
            "postgresql://127.0.0.1/shop__venomqa_w2?sslmode=disable",
        ),
        ("postgresql://h/shop#frag", "postgresql://h/shop__venomqa_w2#frag"),
        ("postgresql://[::1]:5432/shop", "postgresql://[::1]:5432/shop__venomqa_w2"),
    ],
)
def test_a_url_names_the_copy_and_keeps_everything_else_as_written(url: str, copy: str) -> None:
    assert url_with_database(url, "shop__venomqa_w2") == copy


@pytest.mark.parametrize(
    ("database", "path"),
    [
        ("shop__venomqa_w2", "/shop__venomqa_w2"),
        ("a/b c__venomqa_w2", "/a%2Fb%20c__venomqa_w2"),
        ("données?#%__venomqa_w2", "/donn%C3%A9es%3F%23%25__venomqa_w2"),
    ],
)
def test_a_database_name_is_quoted_so_the_url_names_exactly_it(database: str, path: str) -> None:
    url = url_with_database("postgresql://app@127.0.0.1:5432/shop?sslmode=disable", database)
    parts = urlsplit(url)
    assert parts.path == path
    assert unquote(parts.path[1:]) == database
    assert (parts.netloc, parts.query) == ("app@127.0.0.1:5432", "sslmode=disable")


@pytest.mark.parametrize("dsn", ["host=127.0.0.1 dbname=shop", "shop", "postgresql:/shop", ""])
def test_what_is_not_a_url_is_refused_naming_it(dsn: str) -> None:
    with pytest.raises(ValueError) as refused:
        url_with_database(dsn, "shop__venomqa_w2")
    assert str(refused.value) == f"not a URL: {dsn!r}"
