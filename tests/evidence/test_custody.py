"""Custody events: schema, canonical bytes, hash chain and signatures."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest

from evidence.canonical import canonical_json, parse_canonical
from evidence.custody import (
    EVENT_TYPES,
    SignedEvent,
    encode_event,
    event_bytes,
    event_digest,
    event_leaf_hash,
    format_time,
    make_event,
    read_event,
    read_events,
    sign_event,
    validate_event,
    verify_chain,
    verify_event_signature,
    verify_stored_event,
)
from evidence.digest import Digest
from evidence.errors import CanonicalizationError, ChainError, SignatureError
from evidence.merkle import leaf_hash
from evidence.signing import SigningKey

T0 = dt.datetime(2022, 3, 27, 10, 30, tzinfo=dt.UTC)
ORIGINAL = Digest.sha256(b"testimony of Witness A")


def chain(length: int = 4, item: str = "item-1") -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    prev: Digest | None = None
    kinds = ["collected", "ingested", "sealed", "redacted", "published", "accessed"]
    for seq in range(length):
        event = make_event(
            case="moura-2022",
            item=item,
            seq=seq,
            type=kinds[seq % len(kinds)],
            at=T0 + dt.timedelta(hours=seq, microseconds=seq * 7),
            actor="investigator:ana",
            item_digest=ORIGINAL,
            details={"note": f"step {seq}", "count": seq},
            prev=prev,
        )
        events.append(event)
        prev = event_digest(event)
    return events


def test_make_event_shape() -> None:
    first, second = chain(2)
    assert first == {
        "v": 1,
        "case": "moura-2022",
        "item": "item-1",
        "seq": 0,
        "type": "collected",
        "at": "2022-03-27T10:30:00Z",
        "actor": "investigator:ana",
        "item_digest": str(ORIGINAL),
        "details": {"note": "step 0", "count": 0},
        "prev": None,
    }
    assert second["at"] == "2022-03-27T11:30:00.000007Z"
    assert second["prev"] == str(event_digest(first))
    assert len(EVENT_TYPES) == 11


def test_event_bytes_digest_and_leaf() -> None:
    event = chain(1)[0]
    data = event_bytes(event)
    assert data == canonical_json(event)
    assert parse_canonical(data) == event
    assert not data.endswith(b"\n")  # never confusable with a signed-note text
    assert event_digest(event).value == hashlib.sha256(data).digest()
    assert event_leaf_hash(event) == leaf_hash(data)


def test_times_are_normalised_to_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    assert format_time(dt.datetime(2022, 3, 27, 12, 30, 0, 500, tzinfo=paris)) == (
        "2022-03-27T10:30:00.000500Z"
    )
    with pytest.raises(ChainError, match="timezone-aware"):
        format_time(dt.datetime(2022, 3, 27, 12, 30))
    with pytest.raises(ChainError, match="timezone-aware"):
        format_time("2022-03-27")  # type: ignore[arg-type]


def good() -> dict[str, Any]:
    return dict(chain(1)[0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"v": 2}, "field 'v': unsupported event version 2"),
        ({"v": True}, "field 'v'"),
        ({"v": 1.0}, "field 'v'"),
        ({"case": ""}, "field 'case': need a non-empty string"),
        ({"item": 5}, "field 'item'"),
        ({"actor": None}, "field 'actor'"),
        ({"seq": -1}, "field 'seq': need an integer >= 0"),
        ({"seq": True}, "field 'seq'"),
        ({"seq": 2**53}, "field 'seq'"),
        ({"type": "deleted"}, "field 'type': 'deleted' is not one of"),
        ({"type": ["collected"]}, "field 'type': \\['collected'\\] is not one of"),
        ({"at": "2022-03-27T10:30:00+00:00"}, "field 'at': .* is not RFC 3339 UTC"),
        ({"at": "2022-03-27 10:30:00Z"}, "field 'at'"),
        ({"at": "2022-03-27T10:30:00.5Z"}, "field 'at'"),
        ({"at": "2022-02-30T10:30:00Z"}, "field 'at': .* is not a real date"),
        ({"at": "2022-03-27T10:30:00.000000Z"}, "should be written '2022-03-27T10:30:00Z'"),
        ({"at": 1648377000}, "field 'at'"),
        ({"item_digest": "sha256:abc"}, "field 'item_digest': malformed digest"),
        ({"item_digest": 7}, "field 'item_digest': need 'sha256:<hex>' or null"),
        ({"prev": "SHA256:" + "0" * 64}, "field 'prev': malformed digest"),
        ({"details": []}, "field 'details': need a JSON object"),
        ({"details": None}, "field 'details'"),
    ],
)
def test_validate_event_names_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ChainError, match=message):
        validate_event({**good(), **change})


def test_validate_event_fields_and_details() -> None:
    event = good()
    del event["prev"]
    with pytest.raises(ChainError, match=r"missing \['prev'\], unexpected \[\]"):
        validate_event(event)
    with pytest.raises(ChainError, match=r"missing \[\], unexpected \['extra'\]"):
        validate_event({**good(), "extra": 1})
    with pytest.raises(ChainError, match="an event is a JSON object, got list"):
        validate_event([])  # type: ignore[arg-type]
    with pytest.raises(CanonicalizationError, match=r"\$\.details\.count: nan"):
        validate_event({**good(), "details": {"count": float("nan")}})
    with pytest.raises(CanonicalizationError, match=r"\$\.details\.when: datetime"):
        make_event(**{**_kwargs(), "details": {"when": T0}})
    copy = validate_event(good())
    assert copy == good()
    assert copy is not good()


def _kwargs() -> dict[str, Any]:
    return {
        "case": "c",
        "item": "i",
        "seq": 0,
        "type": "collected",
        "at": T0,
        "actor": "a",
        "item_digest": None,
        "details": {},
        "prev": None,
    }


def test_make_event_accepts_text_digests() -> None:
    event = make_event(**{**_kwargs(), "item_digest": str(ORIGINAL), "prev": str(ORIGINAL)})
    assert event["item_digest"] == event["prev"] == str(ORIGINAL)
    with pytest.raises(ChainError, match="field 'details'"):
        make_event(**{**_kwargs(), "details": ["not", "a", "mapping"]})


def test_verify_chain_accepts_a_good_chain() -> None:
    verify_chain(chain(6))
    verify_chain(chain(1))


def test_verify_chain_failures_name_item_and_seq() -> None:
    events = chain(4)
    with pytest.raises(ChainError, match="no events"):
        verify_chain([])
    with pytest.raises(ChainError, match="item 'item-1' seq 2: expected seq 1, got 2"):
        verify_chain([events[0], events[2], events[3]])
    with pytest.raises(ChainError, match="item 'item-1' seq 1: expected seq 0"):
        verify_chain(events[1:])
    with pytest.raises(ChainError, match="item 'item-1' seq 1: expected seq 2"):
        verify_chain([events[0], events[1], events[1]])
    tampered = [*events]
    tampered[1] = {**events[1], "details": {"note": "changed", "count": 1}}
    with pytest.raises(ChainError, match="item 'item-1' seq 2: prev is 'sha256:"):
        verify_chain(tampered)
    first_with_prev = [{**events[0], "prev": events[1]["prev"]}, *events[1:]]
    with pytest.raises(ChainError, match=r"seq 0: prev is 'sha256:.*', expected None"):
        verify_chain(first_with_prev)
    no_prev = [events[0], {**events[1], "prev": None}]
    with pytest.raises(ChainError, match="seq 1: prev is None, expected 'sha256:"):
        verify_chain(no_prev)
    other_item = chain(2, item="item-2")
    with pytest.raises(ChainError, match="item 'item-2' seq 1: belongs to case"):
        verify_chain([events[0], other_item[1]])
    other_case = {**events[1], "case": "other"}
    with pytest.raises(ChainError, match="belongs to case 'other'"):
        verify_chain([events[0], other_case])
    with pytest.raises(ChainError, match=r"event 1 \(item 'item-1' seq 1\): field 'type'"):
        verify_chain([events[0], {**events[1], "type": "erased"}])


def test_signed_events() -> None:
    key = SigningKey.generate("temoin.example/log")
    keys = {key.key_id_hex: key.verifier()}
    event = chain(3)[2]
    signed = sign_event(event, key)
    assert signed.key_id == key.key_id_hex
    assert len(signed.key_id) == 8
    verify_event_signature(signed, keys)
    key.verifier().verify(signed.signature, event_bytes(event))  # what openssl checks

    changed = SignedEvent(
        event={**event, "actor": "someone else"}, key_id=signed.key_id, signature=signed.signature
    )
    with pytest.raises(SignatureError, match="item 'item-1' seq 2: signature by key"):
        verify_event_signature(changed, keys)
    flipped = bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
    with pytest.raises(SignatureError, match=r"seq 2: .*does not verify"):
        verify_event_signature(
            SignedEvent(event=event, key_id=signed.key_id, signature=flipped), keys
        )
    with pytest.raises(SignatureError, match="seq 2: signed by unknown key 'deadbeef'"):
        verify_event_signature(
            SignedEvent(event=event, key_id="deadbeef", signature=signed.signature), keys
        )
    other = SigningKey.generate("other")
    with pytest.raises(SignatureError, match=f"has id {other.key_id_hex}"):
        verify_event_signature(signed, {key.key_id_hex: other.verifier()})
    with pytest.raises(ChainError, match="field 'type'"):
        sign_event({**event, "type": "nope"}, key)


def test_encode_event_is_make_event_and_its_bytes() -> None:
    fields: dict[str, Any] = {
        "case": "moura-2022",
        "item": "item-1",
        "seq": 0,
        "type": "collected",
        "at": T0,
        "actor": "investigator",
        "item_digest": ORIGINAL,
        "details": {"place": "Mopti", "n": [1, 2]},
        "prev": None,
    }
    event, data = encode_event(**fields)
    assert event == make_event(**fields)
    assert data == event_bytes(event) == canonical_json(event)
    with pytest.raises(CanonicalizationError, match=r"\$\.details\.x"):
        encode_event(**{**fields, "details": {"x": float("nan")}})


def test_times_before_year_1000_and_zero_fractions_keep_their_old_spelling() -> None:
    """The fast path of format_time and of the 'at' check agree with strftime's output."""
    early = dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    spelled = early.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert format_time(early) == spelled
    assert format_time(dt.datetime(2022, 3, 27, 10, 30, 0, 0, tzinfo=dt.UTC)) == (
        "2022-03-27T10:30:00Z"
    )
    with pytest.raises(ChainError, match="should be written"):
        validate_event({**good(), "at": "0999-01-02T03:04:05Z"})


def test_read_event_checks_stored_bytes() -> None:
    event = chain(2)[1]
    data = event_bytes(event)
    assert read_event(data) == event
    with pytest.raises(CanonicalizationError, match="not canonical"):
        read_event(data.replace(b'"seq":1', b'"seq": 1'))
    with pytest.raises(ChainError, match="an event is a JSON object, got list"):
        read_event(b"[1,2]")
    with pytest.raises(ChainError, match="field 'type'"):
        read_event(canonical_json({**event, "type": "erased"}))


def test_read_events_is_read_event_of_each() -> None:
    events = chain(4)
    good = [event_bytes(e) for e in events]
    bad = [
        good[1].replace(b'"seq":1', b'"seq": 1'),
        b"[1,2]",
        canonical_json({**events[2], "type": "erased"}),
        canonical_json({**events[2], "details": {"n": 1.5}}),  # canonical, read strictly
    ]
    assert read_events(good) == events
    for wrong in bad:
        datas = [*good[:2], wrong, *good[2:]]
        got = read_events(datas)
        assert [_outcome(lambda d=data: read_event(d)) for data in datas] == [
            (type(r).__name__, str(r)) if isinstance(r, Exception) else r for r in got
        ]


def _outcome(read: Any) -> object:
    """What read_event gives: the event, or (error class name, message)."""
    try:
        result: object = read()
    except (CanonicalizationError, ChainError) as exc:
        return (type(exc).__name__, str(exc))
    return result


def test_verify_stored_event_checks_the_very_bytes() -> None:
    key = SigningKey.generate("temoin.example/log")
    keys = {key.key_id_hex: key.verifier()}
    data = event_bytes(chain(1)[0])
    signature = key.sign(data)
    assert verify_stored_event(data, key_id=key.key_id_hex, signature=signature, keys=keys) == (
        parse_canonical(data)
    )
    forged = data.replace(b"investigator", b"investigatoR")
    with pytest.raises(SignatureError, match="item 'item-1' seq 0: signature by key"):
        verify_stored_event(forged, key_id=key.key_id_hex, signature=signature, keys=keys)
    with pytest.raises(SignatureError, match="signed by unknown key 'deadbeef'"):
        verify_stored_event(data, key_id="deadbeef", signature=signature, keys=keys)


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"n": 1.5, "big": 2**60 * 1.0},  # numbers the C encoder does not write as JCS
        {"\U0001f602": 1, "\ufb33": 2},  # keys whose UTF-16 order is not code-point order
        {"nested": {"list": [1, "two", None, True, {"k": "v"}]}},
        {"text": "é\u2028\x7f\x00\n"},
    ],
)
def test_encode_event_writes_what_canonical_json_writes(details: dict[str, Any]) -> None:
    event, data = encode_event(**{**_kwargs(), "details": details})
    assert data == canonical_json(event)
    assert read_event(data) == event


def test_encode_event_names_what_is_not_canonical() -> None:
    with pytest.raises(CanonicalizationError, match=r"\$\.actor: lone surrogate"):
        encode_event(**{**_kwargs(), "actor": "a\ud800"})
    with pytest.raises(CanonicalizationError, match=r"\$\.details\.x"):
        encode_event(**{**_kwargs(), "details": {"x": float("nan")}})
    with pytest.raises(CanonicalizationError, match=r"\$\.details\.x: integer"):
        encode_event(**{**_kwargs(), "details": {"x": 2**60}})
