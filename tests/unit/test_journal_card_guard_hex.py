"""The journal's card-data guard refuses PAN-like digit runs but not digests, KSNs or keys."""

import hashlib

from console.adapters.journal import card_data_problems


def test_random_sha256_digests_are_never_taken_for_card_numbers():
    flagged = [i for i in range(20_000)
               if card_data_problems({"fingerprint": hashlib.sha256(str(i).encode()).hexdigest()})]
    assert flagged == []


def test_a_ksn_with_a_long_digit_run_is_not_a_card_number():
    assert card_data_problems({"ksn": "62994900000000A00001"}) == []
    assert card_data_problems({"ksn": "4111111111111111A000"}) == []


def test_a_card_number_is_still_refused_alone_or_in_text():
    assert card_data_problems({"note": "4111111111111111"})
    assert card_data_problems({"note": "paid with 4111 1111 1111 1111 today"})
    assert card_data_problems({"note": "card=4111111111111111;"})
    assert card_data_problems({"masked": "411111******1111"}) == []
