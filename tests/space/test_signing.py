"""The signed-identity scheme, without a server."""

import base64
import json

import pytest

from jupyter_spaces.signing import (
    HEADER_IDENTITY,
    HEADER_NONCE,
    HEADER_PREFIX,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    IDENTITY_HEADERS,
    Identity,
    InvalidSignature,
    Verifier,
    generate_secret,
    sign_request,
)

SECRET = generate_secret()
ADA = {"name": "ada", "display_name": "Ada Lovelace", "initials": "AL", "color": "#e377c2", "role": "editor"}
NOW = 1_800_000_000.0
PATH = "/spaces/lab-1/api/contents/a%20b.ipynb?content=1"


def sign(**over):
    how = {"secret": SECRET, "space": "lab-1", "method": "GET", "path": PATH, "identity": ADA, "now": NOW}
    how.update(over)
    return sign_request(**how)


def verifier(**kwargs):
    return Verifier(SECRET, "lab-1", **kwargs)


def refused(headers, method="GET", path=PATH, now=NOW, v=None):
    with pytest.raises(InvalidSignature) as e:
        (v or verifier()).verify(method, path, headers, now=now)
    return e.value.reason


def test_header_names():
    assert IDENTITY_HEADERS == (
        "X-Jupyter-Spaces-Identity",
        "X-Jupyter-Spaces-Timestamp",
        "X-Jupyter-Spaces-Nonce",
        "X-Jupyter-Spaces-Signature",
    )
    assert all(name.startswith(HEADER_PREFIX) for name in IDENTITY_HEADERS)
    assert set(sign()) == set(IDENTITY_HEADERS)


def test_round_trip():
    identity = verifier().verify("GET", PATH, sign(), now=NOW + 5)
    assert identity == Identity(**ADA)


def test_header_names_are_case_insensitive_and_method_case_is_ignored():
    headers = {k.lower(): v for k, v in sign(method="get").items()}
    assert verifier().verify("GET", PATH, headers, now=NOW).name == "ada"


def test_nonces_are_unique():
    assert sign()[HEADER_NONCE] != sign()[HEADER_NONCE]


@pytest.mark.parametrize("missing", IDENTITY_HEADERS)
def test_missing_header(missing):
    headers = sign()
    del headers[missing]
    assert refused(headers) == f"missing header {missing}"


def test_unsigned():
    assert refused({}) == f"missing header {HEADER_IDENTITY}"


def test_wrong_secret():
    assert refused(sign(secret=generate_secret())) == "signature does not match"


def test_other_space():
    assert refused(sign(space="lab-2")) == "signature does not match"


def test_other_path_query_or_method():
    headers = sign()
    assert refused(headers, path="/spaces/lab-1/api/contents/other.ipynb?content=1") == "signature does not match"
    assert refused(headers, path="/spaces/lab-1/api/contents/a%20b.ipynb") == "signature does not match"
    assert refused(headers, method="DELETE") == "signature does not match"


def test_tampered_identity_or_timestamp():
    headers = sign()
    promoted = dict(ADA, role="owner")
    raw = json.dumps(promoted, separators=(",", ":"), sort_keys=True).encode()
    headers[HEADER_IDENTITY] = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert refused(headers) == "signature does not match"
    headers = sign()
    headers[HEADER_TIMESTAMP] = f"{NOW + 1:.3f}"
    assert refused(headers) == "signature does not match"


def test_tampered_signature_format():
    headers = sign()
    headers[HEADER_SIGNATURE] = headers[HEADER_SIGNATURE].upper()
    assert refused(headers) == "malformed signature"


def test_replay_is_refused():
    v = verifier()
    headers = sign()
    v.verify("GET", PATH, headers, now=NOW)
    assert refused(headers, v=v) == "nonce already used (replay)"


def test_forgery_does_not_burn_the_nonce():
    v = verifier()
    good = sign()
    forged = dict(good, **{HEADER_SIGNATURE: "v1=" + "0" * 64})
    refused(forged, v=v)
    assert v.verify("GET", PATH, good, now=NOW).name == "ada"


@pytest.mark.parametrize("offset", [-31, 31, -3600])
def test_stale_or_future_timestamp(offset):
    assert refused(sign(now=NOW + offset)) == "timestamp outside the allowed clock skew"


def test_skew_is_configurable():
    assert verifier(max_skew=120).verify("GET", PATH, sign(now=NOW - 100), now=NOW).name == "ada"


def test_malformed_nonce_and_timestamp():
    assert refused(dict(sign(), **{HEADER_NONCE: "short"})) == "malformed nonce"
    assert refused(dict(sign(), **{HEADER_TIMESTAMP: "yesterday"})) == "malformed timestamp"


def test_nonce_cache_is_bounded_and_fails_closed():
    v = verifier(nonce_cache_size=3)
    sent = [sign(now=NOW + i) for i in range(5)]
    for i, headers in enumerate(sent):
        v.verify("GET", PATH, headers, now=NOW + i)
    assert len(v._nonces) == 3
    # The evicted nonces can no longer be checked, so their time is refused outright.
    assert refused(sent[0], now=NOW + 5, v=v).startswith("nonce cache overflow")
    assert refused(sign(now=NOW + 1), now=NOW + 5, v=v).startswith("nonce cache overflow")
    # Still-remembered ones are replays; fresh requests pass.
    assert refused(sent[4], now=NOW + 5, v=v) == "nonce already used (replay)"
    assert v.verify("GET", PATH, sign(now=NOW + 5), now=NOW + 5).name == "ada"


def test_expired_nonces_are_forgotten():
    v = verifier(nonce_cache_size=2)
    for i in range(10):
        v.verify("GET", PATH, sign(now=NOW + 40 * i), now=NOW + 40 * i)
    assert len(v._nonces) == 1
    assert v._floor == float("-inf")


@pytest.mark.parametrize(
    "identity",
    [
        dict(ADA, role="admin"),
        dict(ADA, role=None),
        dict(ADA, name=""),
        dict(ADA, name=7),
    ],
)
def test_invalid_identities_cannot_be_signed(identity):
    with pytest.raises(ValueError):
        sign(identity=identity)


def test_identity_defaults():
    identity = Identity.from_dict({"name": "bob", "role": "viewer"})
    assert (identity.display_name, identity.initials, identity.color) == ("bob", "", "")


def test_weak_secret_is_refused():
    with pytest.raises(ValueError):
        Verifier("short", "lab-1")
    with pytest.raises(ValueError):
        sign(secret="short")
