"""X-Twilio-Signature, pinned to Twilio's own published vectors (from Twilio's SDK tests, e.g.
twilio-php ``tests/Twilio/Unit/Security/RequestValidatorTest.php``), so a self-consistent but
wrong algorithm cannot pass."""

from __future__ import annotations

import base64
import hashlib
import hmac

from pyai.telephony import twilio_signature as ts

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilios_documented_example() -> None:
    assert ts.sign(TOKEN, URL, PARAMS) == SIGNATURE
    assert ts.validate(TOKEN, URL, PARAMS, SIGNATURE)
    reordered = dict(reversed(list(PARAMS.items())))
    assert ts.validate(TOKEN, URL, reordered, SIGNATURE)
    assert ts.validate(TOKEN, URL, list(PARAMS.items()), SIGNATURE)  # (name, value) pairs, as forms give


def test_repeated_parameters_use_their_distinct_values_sorted() -> None:
    params = {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234", "1234"]}
    assert ts.sign(TOKEN, URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    pairs = [("Sid", "CA123"), ("Digits", "5678"), ("SidAccount", "AC123"), ("Digits", "1234"), ("Digits", "1234")]
    assert ts.validate(TOKEN, URL, pairs, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")


def test_the_exact_algorithm_on_a_hand_computed_example() -> None:
    # URL, then names sorted ("A" < "B" < "a"), each name then its value; HMAC-SHA1; base64.
    data = "https://h.example/v?q=1" + "A2" + "B1" + "a3"
    expected = base64.b64encode(hmac.new(b"tok", data.encode(), hashlib.sha1).digest()).decode()
    assert ts.sign("tok", "https://h.example/v?q=1", {"a": "3", "B": "1", "A": "2"}) == expected
    assert (
        ts.sign("tok", "wss://h.example/stream")
        == base64.b64encode(hmac.new(b"tok", b"wss://h.example/stream", hashlib.sha1).digest()).decode()
    )


def test_a_port_added_or_removed_by_a_proxy_still_validates() -> None:
    assert ts.validate(TOKEN, URL.replace(".com", ".com:1234"), PARAMS, SIGNATURE)
    assert ts.validate(TOKEN, URL, PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=")  # signed with :443
    assert ts.validate(TOKEN, URL.replace("https", "http"), PARAMS, "0ZXoZLH/DfblKGATFgpif+LLRf4=")  # with :80
    http_1234 = URL.replace(".com", ".com:1234").replace("https", "http")
    assert ts.validate(TOKEN, http_1234, PARAMS, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=")


def test_anything_else_fails() -> None:
    assert not ts.validate(TOKEN, URL, {**PARAMS, "Digits": "9999"}, SIGNATURE)
    assert not ts.validate(TOKEN, URL + "&extra=1", PARAMS, SIGNATURE)
    assert not ts.validate("54321", URL, PARAMS, SIGNATURE)
    assert not ts.validate(TOKEN, "https://MyCompany.com/myapp.php?foo=1&bar=2", PARAMS, SIGNATURE)
    for bad in ["", None, "FAIL", "invalid 王", SIGNATURE[:-1]]:
        assert not ts.validate(TOKEN, URL, PARAMS, bad)
    assert not ts.validate("", URL, PARAMS, ts.sign("", URL, PARAMS))
    assert ts.HEADER == "X-Twilio-Signature"
