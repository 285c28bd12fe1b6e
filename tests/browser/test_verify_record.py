"""A record verifies on its own page, in Chromium: the same checks as evidence/public_bundle.py.

The page's verifier (static/verifier.js: WebCrypto SHA-256 and Ed25519) must reach the same
verdict as ``verify_public_bundle`` and fail at the same check, on the real bundle and on
tampered and forged copies; a tampered bundle served to the page (route interception) must
be shown as failing there.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from flask.testing import FlaskClient

from evidence import merkle
from evidence.bundle import (
    _check_canonical,
    _check_checkpoint,
    _check_event_signatures,
    _check_inclusion,
    _check_keys_used,
    _State,
)
from evidence.canonical import canonical_json
from evidence.checkpoint import Checkpoint, sign_checkpoint
from evidence.custody import event_digest
from evidence.errors import BundleError, VerificationError
from evidence.public_bundle import (
    _check_disclosure,
    _check_published,
    _check_the_two_events,
    parse_public_bundle,
    verify_public_bundle,
)
from evidence.signing import SigningKey, VerifierKey
from tests.browser.conftest import LiveServer, Recorder

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips (fails in CI) with the reason
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

pytestmark = pytest.mark.browser

CHECKS = [
    "format",
    "record",
    "events",
    "signatures",
    "sealing",
    "checkpoint",
    "inclusion",
    "disclosure",
    "text",
    "keys",
    "page",
]


def record_uid(client: FlaskClient, query: str) -> str:
    hits = client.get("/api/v1/search", query_string={"q": query}).json["hits"]
    assert len(hits) == 1, hits
    return hits[0]["id"]


def published_keys(client: FlaskClient) -> list[str]:
    return client.get("/api/v1/log/keys").get_data(as_text=True).split()


def run_check(page: Page) -> None:
    button = page.get_by_role("button", name=re.compile("Check it in this browser|Le vérifier"))
    expect(button).to_be_visible()
    button.click()
    expect(page.locator("#verify-verdict")).to_have_class(
        re.compile(r"verdict-(ok|failed)"), timeout=20_000
    )


# ---- the page --------------------------------------------------------------------------


def test_a_published_testimony_verifies_on_its_page(
    page: Page, live_server: LiveServer, client: FlaskClient, recorder: Recorder, shoot
) -> None:
    uid = record_uid(client, "riverbank")
    page.goto(live_server(f"/records/{uid}"))
    expect(page.locator("#verify-checks")).to_be_hidden()  # nothing runs until asked
    run_check(page)
    verdict = page.locator("#verify-verdict")
    expect(verdict).to_have_class(re.compile("verdict-ok"))
    expect(verdict).to_contain_text("Verified")
    expect(verdict.locator(".warning")).to_have_count(0)  # the log key was pinned
    states = page.locator("#verify-checks > li").evaluate_all(
        "items => items.map(li => [li.dataset.check, li.dataset.state])"
    )
    assert states == [[name, "ok"] for name in CHECKS]
    disclosure = page.locator('#verify-checks li[data-check="disclosure"] .detail')
    expect(disclosure).to_contain_text("2 passages were withheld, labelled [Witness A]")
    checkpoint = page.locator('#verify-checks li[data-check="checkpoint"] .detail')
    expect(checkpoint).to_contain_text("the archive’s published key test.temoin/log")
    # The bundle is the one the download link offers, and nothing left loopback.
    href = page.get_by_role("link", name="Download the public bundle").get_attribute("href")
    assert href == f"/api/v1/items/{uid}/public-bundle"
    assert any(url.endswith(href) for url in recorder.requests)
    assert recorder.page_errors == [] and recorder.console_errors == []
    shoot(page, "verified")


def _flip(b64: str, at: int = 0) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _change_text(bundle: dict[str, Any]) -> None:
    bundle["public_text"] = bundle["public_text"].replace("soldiers", "rebels", 1)


def _flip_signature(bundle: dict[str, Any]) -> None:
    bundle["events"][1]["signature"] = _flip(bundle["events"][1]["signature"], 10)


def _flip_inclusion(bundle: dict[str, Any]) -> None:
    bundle["inclusion"][0]["hashes"][0] = _flip(bundle["inclusion"][0]["hashes"][0])


def _visible_word(bundle: dict[str, Any]) -> None:
    part = next(p for p in bundle["disclosure"]["parts"] if p.get("text") == "soldiers")
    part["text"] = "rebels"
    _change_text(bundle)


TAMPERINGS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "public-text": (_change_text, "disclosure"),
    "visible-word-and-text": (_visible_word, "disclosure"),
    "event-signature": (_flip_signature, "signatures"),
    "inclusion-proof": (_flip_inclusion, "inclusion"),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_a_tampered_bundle_fails_on_the_page(
    page: Page, live_server: LiveServer, client: FlaskClient, tampering: str, shoot
) -> None:
    mutate, failing = TAMPERINGS[tampering]
    uid = record_uid(client, "riverbank")

    def serve_tampered(route: Route) -> None:
        bundle = json.loads(route.fetch().text())
        mutate(bundle)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(bundle))

    page.route("**/public-bundle", serve_tampered)
    page.goto(live_server(f"/records/{uid}"))
    run_check(page)
    verdict = page.locator("#verify-verdict")
    expect(verdict).to_have_class(re.compile("verdict-failed"))
    expect(verdict).to_contain_text("Not verified")
    states = dict(
        page.locator("#verify-checks > li").evaluate_all(
            "items => items.map(li => [li.dataset.check, li.dataset.state])"
        )
    )
    at = CHECKS.index(failing)
    assert states[failing] == "failed", states
    assert all(states[name] == "ok" for name in CHECKS[:at]), states
    assert all(states[name] == "skipped" for name in CHECKS[at + 1 :]), states
    detail = page.locator(f'#verify-checks li[data-check="{failing}"] .detail')
    assert len(detail.inner_text()) > 20
    shoot(page, f"tampered-{tampering}")


def test_another_records_bundle_is_refused(
    page: Page, live_server: LiveServer, client: FlaskClient
) -> None:
    uid, other = record_uid(client, "riverbank"), record_uid(client, "hélicoptères")
    page.route(
        "**/public-bundle",
        lambda route: route.fulfill(
            status=200,
            content_type="application/json",
            body=client.get(f"/api/v1/items/{other}/public-bundle").get_data(),
        ),
    )
    page.goto(live_server(f"/records/{uid}"))
    run_check(page)
    expect(page.locator('#verify-checks li[data-check="record"]')).to_have_attribute(
        "data-state", "failed"
    )


def test_the_check_reads_in_french(
    page: Page, live_server: LiveServer, client: FlaskClient, shoot
) -> None:
    uid = record_uid(client, "hélicoptères")
    page.goto(live_server(f"/records/{uid}?lang=fr"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    run_check(page)
    verdict = page.locator("#verify-verdict")
    expect(verdict).to_have_class(re.compile("verdict-ok"))
    expect(verdict).to_contain_text("Vérifié")
    expect(page.locator('#verify-checks li[data-check="disclosure"] .detail')).to_contain_text(
        re.compile(r"passages? (a|ont) été retenus?, marqués? \[Witness B\]")
    )
    shoot(page, "verified-fr")


# ---- the same verdict as evidence/public_bundle.py --------------------------------------


def python_stage(data: bytes, trusted: list[VerifierKey] | None) -> str:
    """Which check of verify_public_bundle fails first ("ok" if none), by the same names."""
    try:
        bundle = parse_public_bundle(data)
    except BundleError:
        return "format"
    state = _State(bundle=bundle, trusted=None if trusted is None else tuple(trusted))
    stage = "events"
    try:
        _check_canonical(state)
        stage = "signatures"
        _check_event_signatures(state)
        stage = "sealing"
        commitment, details = _check_the_two_events(state, bundle)
        stage = "checkpoint"
        checkpoint = _check_checkpoint(state)
        stage = "inclusion"
        _check_inclusion(state, checkpoint)
        stage = "disclosure"
        _check_disclosure(state, bundle, commitment)
        stage = "text"
        _check_published(state, bundle, details)
        stage = "keys"
        _check_keys_used(state)
    except VerificationError:
        return stage
    verify_public_bundle(bundle, trusted_keys=trusted)  # the real entry point agrees
    return "ok"


def _events(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(base64.b64decode(e["canonical"])) for e in bundle["events"]]


def reforge(bundle: dict[str, Any], change: Callable[[list[dict[str, Any]]], None]) -> None:
    """What a forger can do: change the events, sign them and a whole new log with a key of
    their own under the archive's log name. Only pinning the archive's key catches it."""
    events = _events(bundle)
    change(events)
    origin = bundle["checkpoint"].split("\n", 1)[0]
    key = SigningKey.generate(origin)
    canonical = [canonical_json(e) for e in events]
    leaves = [merkle.leaf_hash(c) for c in canonical]
    checkpoint = Checkpoint(origin=origin, size=2, root_hash=merkle.root_hash(leaves))
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    bundle["events"] = [
        {
            "log_index": i,
            "canonical": b64(c),
            "key_id": key.key_id_hex,
            "signature": b64(key.sign(c)),
        }
        for i, c in enumerate(canonical)
    ]
    bundle["keys"] = [key.verifier().to_vkey()]
    bundle["checkpoint"] = sign_checkpoint(checkpoint, [key])
    bundle["inclusion"] = [
        {"log_index": i, "hashes": [b64(h) for h in merkle.inclusion_proof(leaves, i)]}
        for i in range(2)
    ]


def _json(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        bundle = json.loads(data)
        change(bundle)
        return json.dumps(bundle, ensure_ascii=False).encode()

    return apply


def _forged(change: Callable[[list[dict[str, Any]]], None]) -> Callable[[bytes], bytes]:
    return _json(lambda bundle: reforge(bundle, change))


def _set(index: int, **members: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(events: list[dict[str, Any]]) -> None:
        events[index].update(members)

    return change


def _details(index: int, **members: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(events: list[dict[str, Any]]) -> None:
        events[index]["details"].update(members)

    return change


def _new_root(events: list[dict[str, Any]]) -> None:
    root = _flip(events[0]["details"]["commitment"]["root"])
    events[0]["details"]["commitment"]["root"] = root
    events[1]["details"]["commitment_root"] = root


def _relink(events: list[dict[str, Any]]) -> None:
    events[1]["prev"] = str(event_digest(events[0])).replace("a", "b", 1).replace("0", "1", 1)


def _extra_key(bundle: dict[str, Any]) -> None:
    bundle["keys"].append(SigningKey.generate("someone-else").verifier().to_vkey())


def _swap_events(bundle: dict[str, Any]) -> None:
    bundle["events"].reverse()


def _hidden_hash(bundle: dict[str, Any]) -> None:
    part = next(p for p in bundle["disclosure"]["parts"] if "label" in p)
    part["hashes"][0] = _flip(part["hashes"][0], 31)


def _relabel(bundle: dict[str, Any]) -> None:
    part = next(p for p in bundle["disclosure"]["parts"] if "label" in p)
    bundle["public_text"] = bundle["public_text"].replace(f"[{part['label']}]", "[Someone]")
    part["label"] = "Someone"


def _shift_run(bundle: dict[str, Any]) -> None:
    part = next(p for p in bundle["disclosure"]["parts"] if "label" in p)
    part["start"] += 1


def _salt(bundle: dict[str, Any]) -> None:
    part = next(p for p in bundle["disclosure"]["parts"] if "salt" in p)
    part["salt"] = _flip(part["salt"], 5)


def _loose_salt(bundle: dict[str, Any]) -> None:
    part = next(p for p in bundle["disclosure"]["parts"] if "salt" in p)
    part["salt"] = part["salt"][:-2] + ("C=" if part["salt"][-2] == "B" else "B=")


def _checkpoint_size(bundle: dict[str, Any]) -> None:
    lines = bundle["checkpoint"].split("\n")
    lines[1] = str(int(lines[1]) + 1)
    bundle["checkpoint"] = "\n".join(lines)


def _noncanonical_event(bundle: dict[str, Any]) -> None:
    raw = base64.b64decode(bundle["events"][0]["canonical"]).replace(b'{"actor"', b'{ "actor"', 1)
    bundle["events"][0]["canonical"] = base64.b64encode(raw).decode()


def _float_index(data: bytes) -> bytes:
    text = data.decode()
    index = json.loads(text)["events"][0]["log_index"]
    return text.replace(f'"log_index":{index},', f'"log_index":{index}.0,', 1).encode()


def _duplicate_member(data: bytes) -> bytes:
    return data.replace(b'{"checkpoint":', b'{"checkpoint":"x","checkpoint":', 1)


MUTATIONS: dict[str, tuple[Callable[[bytes], bytes], bool]] = {
    # name: (mutation, pin the archive's keys)
    "as-published": (lambda d: d, True),
    "as-published-unpinned": (lambda d: d, False),
    "truncated": (lambda d: d[: len(d) // 2], True),
    "not-utf8": (lambda d: d + b"\xff", True),
    "duplicate-member": (_duplicate_member, True),
    "float-index": (_float_index, True),
    "extra-member": (_json(lambda b: b.update(extra=1)), True),
    "one-event": (_json(lambda b: b["events"].pop()), True),
    "loose-base64-salt": (_json(_loose_salt), True),
    "non-canonical-event": (_json(_noncanonical_event), True),
    "event-signature": (_json(_flip_signature), True),
    "swapped-events": (_json(_swap_events), True),
    "checkpoint-size": (_json(_checkpoint_size), True),
    "inclusion-hash": (_json(_flip_inclusion), True),
    "inclusion-index": (_json(lambda b: b["inclusion"][1].update(log_index=0)), True),
    "public-text": (_json(_change_text), True),
    "visible-word": (_json(_visible_word), True),
    "salt": (_json(_salt), True),
    "hidden-hash": (_json(_hidden_hash), True),
    "shifted-run": (_json(_shift_run), True),
    "count": (_json(lambda b: b["disclosure"].update(count=b["disclosure"]["count"] + 1)), True),
    "relabelled": (_json(_relabel), True),
    "title": (_json(lambda b: b["item"].update(title="Another title")), True),
    "unused-key": (_json(_extra_key), True),
    "forged-pinned": (_forged(lambda events: None), True),
    "forged-unpinned": (_forged(lambda events: None), False),
    "forged-bad-time": (_forged(_set(0, at="2022-02-30T10:00:00Z")), False),
    "forged-zero-micros": (_forged(_set(1, at="2022-03-30T10:00:00.000000Z")), False),
    "forged-names-digest": (_forged(_set(1, item_digest="sha256:" + "ab" * 32)), False),
    "forged-other-case": (_forged(_set(0, case="another-case")), False),
    "forged-type": (_forged(_set(1, type="verified")), False),
    "forged-order": (_forged(_set(1, seq=0, prev=None)), False),
    "forged-prev": (_forged(_relink), False),
    "forged-extra-detail": (_forged(_details(1, note="hello")), False),
    "forged-root": (_forged(_new_root), False),
    "forged-text-digest": (_forged(_details(1, public_text_digest="sha256:" + "0" * 64)), False),
    "forged-title": (_forged(_details(1, public_title="Another title")), False),
}


def test_the_browser_and_python_verifiers_agree(
    page: Page, live_server: LiveServer, client: FlaskClient
) -> None:
    uid = record_uid(client, "riverbank")
    original = client.get(f"/api/v1/items/{uid}/public-bundle").get_data()
    keys = published_keys(client)
    trusted = [VerifierKey.parse(k) for k in keys]
    page.goto(live_server(f"/records/{uid}"))
    page.wait_for_function("() => window.TemoinVerify !== undefined")
    cases, expected = [], {}
    for name, (mutate, pinned) in MUTATIONS.items():
        data = mutate(copy.copy(original))
        expected[name] = python_stage(data, trusted if pinned else None)
        cases.append([name, base64.b64encode(data).decode(), keys if pinned else None])
    got = dict(
        page.evaluate(
            """async (cases) => {
                const out = [];
                for (const [name, b64, keys] of cases) {
                    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                    try {
                        await TemoinVerify.verifyPublicBundle(bytes, {trustedKeys: keys});
                        out.push([name, "ok"]);
                    } catch (e) {
                        out.push([name, e.check ? e.check : "crash: " + e]);
                    }
                }
                return out;
            }""",
            cases,
        )
    )
    assert got == expected
    # The cases reach every check, and each fails where it was meant to.
    assert {stage for stage in expected.values()} == {
        "ok",
        "format",
        "events",
        "signatures",
        "sealing",
        "checkpoint",
        "inclusion",
        "disclosure",
        "text",
        "keys",
    }
    assert expected["as-published"] == expected["forged-unpinned"] == "ok"
    assert expected["forged-pinned"] == "checkpoint"


def test_segments_are_cut_as_in_python(
    page: Page, live_server: LiveServer, client: FlaskClient
) -> None:
    """verifier.js cuts text into segments exactly as evidence.disclosure.segment."""
    from evidence.disclosure import segment

    samples = [
        "d'Hamadoun Traoré, +223 76 12 34 56 — « Témoin A » !",
        "Kone\u0301 et\u00a0Koné\u2009: x_y 12,5 % ٣٤ 二〇二二年 \U0001f600",
        "\x1c\x1f\x85\u3000\ufeff.\u00bd\u2167 Ⅻ ß ǅ",
        "tab\tnew\nline\r\n\u2028end",
    ]
    uid = record_uid(client, "riverbank")
    page.goto(live_server(f"/records/{uid}"))
    page.wait_for_function("() => window.TemoinVerify !== undefined")
    got = page.evaluate("texts => texts.map(t => TemoinVerify.segment(t))", samples)
    assert got == [segment(t) for t in samples]


def test_without_webcrypto_the_page_says_so_and_points_offline(
    page: Page, live_server: LiveServer, client: FlaskClient
) -> None:
    """Browsers give WebCrypto only to https:// pages (and localhost): an archive served over
    plain HTTP must say why the check cannot run, not fail obscurely."""
    page.add_init_script(
        "Object.defineProperty(Crypto.prototype, 'subtle', {get: () => undefined})"
    )
    page.goto(live_server(f"/records/{record_uid(client, 'riverbank')}"))
    run_check(page)
    failed = page.locator('#verify-checks li[data-check="format"]')
    expect(failed).to_have_attribute("data-state", "failed")
    expect(failed.locator(".detail")).to_contain_text("https://")
    page.goto(live_server("/verify"))
    page.get_by_label("Choose a file").set_input_files(
        files=[{"name": "a.txt", "mimeType": "text/plain", "buffer": b"hello"}]
    )
    expect(page.locator("#file-status")).to_contain_text("https://")
