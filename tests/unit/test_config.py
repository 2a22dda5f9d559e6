import tomllib
from decimal import Decimal

import pytest

from console.config import (
    FIELDS,
    Operator,
    ProfileStore,
    coerce,
    hash_pin,
    sandbox_profile,
    setting,
    validate,
    verify_pin,
)
from console.errors import ValidationError
from console.paths import Paths


def _production(**values):
    base = {
        "caselle_url": "https://connect.example.gov/graphql",
        "caselle_client_id": "abc",
        "invoicecloud_biller_id": "CITY01",
        "invoicecloud_api_url": "https://ic.example.com/api",
        "invoicecloud_gateway_url": "https://ic.example.com/gw",
        "transfer_host": "stratus.example.com",
        "transfer_user": "city",
    }
    base.update(values)
    return sandbox_profile().__class__(name="prod", values=base,
                                       operators=(Operator("boss", "Boss", "supervisor", SUPERVISOR_PIN_HASH),))


SUPERVISOR_PIN_HASH = hash_pin("8642", iterations=1_000)


def test_sandbox_is_default_and_valid():
    store = ProfileStore(Paths.default())
    assert store.default_name() == "sandbox"
    p = store.load()
    assert p.is_sandbox and p.training
    assert validate(p) == []


def test_every_setting_declared_once_with_a_valid_default():
    names = [s.name for s in FIELDS]
    assert len(names) == len(set(names))
    for s in FIELDS:
        coerce(s, s.default)


def test_production_requires_core_settings_and_https():
    p = sandbox_profile().__class__(name="prod", values={"caselle_url": "http://insecure.example"})
    rules = {(pr.column, pr.rule) for pr in validate(p)}
    assert ("caselle_client_id", "required") in rules
    assert ("caselle_url", "tls") in rules
    assert validate(_production()) == []


def test_coerce_names_the_rule():
    with pytest.raises(ValueError, match="one of"):
        coerce(setting("caselle_api_version"), "2019.1")
    with pytest.raises(ValueError, match="amount"):
        coerce(setting("biller_nsf_fee"), "ten")
    assert coerce(setting("biller_nsf_fee"), "25") == Decimal("25.00")
    with pytest.raises(ValueError, match="negative"):
        coerce(setting("biller_nsf_fee"), "-1")


def test_gl_map_checked_against_format():
    p = _production().__class__(name="prod", values=_production().values, gl_map={"801": "104100000"},
                                operators=_production().operators)
    assert any(pr.rule == "gl_format" and "801" in pr.message for pr in validate(p))


def test_save_and_load_round_trip_without_secrets(tmp_path):
    paths = Paths.default().ensure()
    store = ProfileStore(paths)
    p = _production(biller_nsf_fee=Decimal("30.00"), lockbox_cloudstore_types=["801"])
    p = p.__class__(name="prod", values=p.values, gl_map={"801": "10-4100-000"},
                    operators=(Operator("s1", "Sam", "supervisor", hash_pin("4321")),))
    store.save(p, make_default=True)
    raw = tomllib.loads(paths.profiles_file.read_text())
    assert raw["default"] == "prod"
    text = paths.profiles_file.read_text()
    assert "4321" not in text
    loaded = store.load()
    assert loaded.name == "prod"
    assert loaded.biller_nsf_fee == Decimal("30.00")
    assert loaded.gl_map == {"801": "10-4100-000"}
    assert loaded.operator("s1").check_pin("4321")
    assert store.names() == ["sandbox", "prod"]


def test_invalid_profile_refused_on_save_and_load():
    store = ProfileStore(Paths.default().ensure())
    with pytest.raises(ValidationError):
        store.save(_production(caselle_url="ftp://x"))
    Paths.default().profiles_file.write_text('[profiles.bad.caselle]\napi_version = "1999"\n')
    with pytest.raises(ValidationError) as err:
        store.load("bad")
    assert err.value.problems[0].column == "caselle_api_version"
    with pytest.raises(ValidationError):
        store.load("missing")


def test_sandbox_profile_cannot_be_saved():
    with pytest.raises(ValidationError):
        ProfileStore(Paths.default()).save(sandbox_profile())


def test_pin_hash_is_salted_and_slow():
    a, b = hash_pin("1234"), hash_pin("1234")
    assert a != b and "1234" not in a
    assert int(a.split("$")[1]) >= 100_000
    assert verify_pin("1234", a) and not verify_pin("1235", a)
    assert not verify_pin("1234", "garbage")



def test_the_automation_operator_must_be_an_automation_operator():
    from console.config import Operator, Profile, validate

    ops = (Operator("sup", "Sue", "supervisor", "x"), Operator("robot", "Jobs", "automation", "y"))
    bad = Profile("town", values={"roles_automation_operator": "sup"}, operators=ops)
    assert [p.column for p in validate(bad) if p.rule == "automation"] == ["roles_automation_operator"]
    good = Profile("town", values={"roles_automation_operator": "robot"}, operators=ops)
    assert not [p for p in validate(good) if p.rule == "automation"]
