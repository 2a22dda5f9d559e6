"""Every operation the client sends is valid against the stand-in SDL (graphql-core validate)."""

import pytest
from graphql import build_schema, parse, validate

from console.adapters import caselle


@pytest.fixture(scope="module")
def schema():
    return build_schema(caselle.schema_sdl())


def test_there_are_operations_for_every_client_call():
    names = set(caselle.operation_names())
    expected = {"api_info", "search_accounts", "customer_detail", "adjustments_since", "create_receipt",
                "find_receipt", "receipt_by_number", "batch_receipts", "void_receipt", "open_batch", "close_batch",
                "batch_totals", "list_batches", "set_direct_pay_status", "update_customer", "ach_reject",
                "create_adjustment"}
    assert expected <= names


@pytest.mark.parametrize("name", caselle.operation_names())
def test_operation_validates_against_the_sdl(schema, name):
    doc = caselle.load_operation(name)
    errors = validate(schema, doc)
    assert errors == [], f"{name}: {[e.message for e in errors]}"


def test_validation_catches_a_field_the_schema_lacks(schema):
    bad = parse("query { receipt(reference: \"x\") { receiptNumber noSuchField } }")
    assert validate(schema, bad), "the validator must reject unknown fields"


def test_loader_adds_only_the_fragments_an_operation_uses():
    doc = caselle.load_operation("create_receipt")
    fragment_names = {d.name.value for d in doc.definitions if d.kind == "fragment_definition"}
    assert fragment_names == {"ReceiptFields"}
    doc = caselle.load_operation("customer_detail")
    fragment_names = {d.name.value for d in doc.definitions if d.kind == "fragment_definition"}
    assert fragment_names == {"CustomerFields", "CustomerSummaryFields", "AdjustmentFields"}  # transitive


def test_mutations_are_recognised_so_they_are_never_retried():
    assert caselle._is_mutation(caselle.load_operation("create_receipt"))
    assert caselle._is_mutation(caselle.load_operation("void_receipt"))
    assert not caselle._is_mutation(caselle.load_operation("find_receipt"))


def test_capabilities_explain_what_a_version_lacks():
    old = caselle.Capabilities("2021.02.160", caselle.FEATURES_BY_VERSION["2021.02.160"])
    new = caselle.Capabilities("2021.05", caselle.FEATURES_BY_VERSION["2021.05"])
    assert not old.has("ach_reject") and not old.has("set_direct_pay_status")
    assert new.has("ach_reject") and new.has("set_direct_pay_status")
    assert old.has("update_customer") and old.has("void_receipt")
    assert "2021.05" in old.explain("ach_reject") and "2021.02.160" in old.explain("ach_reject")
    assert new.explain("ach_reject") == ""


def test_stored_token_parses_json_or_bare_token():
    t = caselle.AccessToken.from_secret('{"token": "abc", "expires_at": "2027-01-01T00:00:00Z"}')
    assert t.value == "abc" and t.expires_at.year == 2027
    assert caselle.AccessToken.from_secret("plain-token") == caselle.AccessToken("plain-token", None)
    assert caselle.AccessToken.from_secret(t.to_json()) == t


def test_features_follow_the_version_also_beyond_the_table():
    assert caselle.features_for_version("2025.11").issuperset({"ach_reject", "set_direct_pay_status"})
    assert "ach_reject" not in caselle.features_for_version("2021.03.2")
    assert "update_customer" in caselle.features_for_version("2021.03.2")
    assert "update_customer" not in caselle.features_for_version("2020.10")
    caps = caselle.capabilities_for_version("2021.02.160")
    assert not caps.has("set_direct_pay_status") and "2021.05" in caps.explain("set_direct_pay_status")
