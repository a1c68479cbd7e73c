"""Pseudonyms, masking strategies, generalisation and k-anonymity, on hand-computed cases."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charte.anonymise import (
    CannotGeneralise,
    InvalidPseudonymKey,
    Keyring,
    MissingPseudonymKey,
    NotAnonymous,
    NotAPseudonym,
    UnknownStrategy,
    UnsupportedStrategy,
    age_band,
    from_fides_strategy,
    generalise_date,
    generalise_postcode,
    key_id_of,
    masking_strategy,
    measure,
    pseudonym,
    require_k_anonymous,
    truncate_ip,
)

RING = Keyring.generate("k1")


def test_pseudonyms_are_stable_per_key_and_differ_across_keys() -> None:
    other = Keyring.generate("k2")
    a = pseudonym("Marie.Dupont@example.fr", RING)
    assert a == pseudonym("marie.dupont@example.fr ", RING)  # same identity, same pseudonym
    assert a != pseudonym("marie.dupont@example.fr", other)
    assert a != pseudonym("jean.martin@example.fr", RING)
    assert key_id_of(a) == "k1" and key_id_of(pseudonym("x", other)) == "k2"
    assert "marie" not in a


@given(st.text(min_size=1), st.text(min_size=1))
def test_distinct_values_get_distinct_pseudonyms(a: str, b: str) -> None:
    if a.strip().casefold() != b.strip().casefold():
        assert pseudonym(a, RING) != pseudonym(b, RING)


def test_keyring_rotation_from_environment() -> None:
    old, new = Keyring.generate("k1"), Keyring.generate("k2")
    ring = Keyring.from_env({"CHARTE_PSEUDONYM_KEYS": f"{new.to_env()},{old.to_env()}"})
    assert ring.current.key_id == "k2"
    assert pseudonym("x", ring, key_id="k1") == pseudonym("x", old)
    with pytest.raises(MissingPseudonymKey):
        Keyring.from_env({})
    with pytest.raises(InvalidPseudonymKey, match="32 at least"):
        Keyring.parse("k1:c2hvcnQ")
    with pytest.raises(InvalidPseudonymKey, match="twice"):
        Keyring.parse(f"{old.to_env()},{old.to_env()}")
    with pytest.raises(NotAPseudonym):
        key_id_of("hello")


def test_generalisations() -> None:
    assert generalise_date(date(2020, 1, 22)) == "2020-01"
    assert generalise_date("2020-01-22T10:00:00", to="year") == "2020"
    assert generalise_postcode("54600") == "54"
    assert generalise_postcode("97110") == "971"
    assert generalise_postcode("20000") == "2A" and generalise_postcode("20200") == "2B"
    assert age_band(37) == "30-39"
    assert age_band(date(1990, 6, 1), today=date(2026, 5, 31)) == "30-39"
    assert age_band(date(1990, 6, 1), today=date(2026, 6, 1)) == "30-39"
    assert age_band(date(1986, 6, 2), today=date(2026, 6, 1)) == "30-39"
    assert truncate_ip("192.168.12.34") == "192.168.0.0"
    assert truncate_ip("2001:db8:85a3:1234:5678:8a2e:370:7334") == "2001:db8:85a3::"
    with pytest.raises(CannotGeneralise):
        generalise_postcode("F-54600")
    with pytest.raises(CannotGeneralise):
        truncate_ip("not-an-ip")


def test_masking_strategies() -> None:
    assert masking_strategy("null").constant_value() is None
    mask = masking_strategy("mask", value="effacé")
    assert mask.constant and mask.apply("secret") == "effacé"
    pseudo = masking_strategy("pseudonym", keyring=RING)
    assert not pseudo.constant and pseudo.apply("a@b.fr") == pseudonym("a@b.fr", RING)
    assert pseudo.apply(None) is None
    with pytest.raises(TypeError):
        pseudo.constant_value()
    assert masking_strategy("truncate_ip").apply("10.1.2.3") == "10.1.0.0"
    with pytest.raises(UnknownStrategy):
        masking_strategy("shred")
    with pytest.raises(UnknownStrategy, match="keyring"):
        masking_strategy("pseudonym")


def test_fides_strategies_map_to_ours() -> None:
    assert from_fides_strategy("null_rewrite").constant_value() is None
    assert from_fides_strategy("string_rewrite", {"rewrite_value": "MASKED"}).apply("x") == "MASKED"
    assert from_fides_strategy("hmac", {}, keyring=RING).apply("x") == pseudonym("x", RING)
    with pytest.raises(UnsupportedStrategy, match="aes_encrypt"):
        from_fides_strategy("aes_encrypt")


def test_k_anonymity_hand_computed_groups() -> None:
    rows = (
        [{"dept": "54", "band": "30-39"}] * 5
        + [{"dept": "75", "band": "30-39"}] * 6
        + [{"dept": "2A", "band": "60-69"}] * 2
    )
    report = measure(rows, ["dept", "band"], k=5)
    assert (report.rows, report.groups, report.smallest_group, report.groups_below_k) == (13, 3, 2, 1)
    assert dict(report.example) == {"dept": "2A", "band": "60-69"}
    with pytest.raises(NotAnonymous, match="smallest group has 2 row"):
        require_k_anonymous(rows, ["dept", "band"], k=5)
    assert require_k_anonymous(rows[:11], ["dept", "band"], k=5).smallest_group == 5
    assert require_k_anonymous(rows, ["dept", "band"], k=2).ok
