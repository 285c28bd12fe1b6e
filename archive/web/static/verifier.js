/*
 * Témoin's public-bundle verifier, in the browser (WebCrypto: SHA-256 and Ed25519).
 *
 * The same checks, in the same order, as evidence/public_bundle.py:verify_public_bundle
 * (docs/public-bundle.md), after the same strict parsing as parse_public_bundle:
 *
 *   format      parse: members, types, canonical base64, two events, verifier keys
 *   events      1. each event is RFC 8785 canonical JSON of a valid v1 custody event
 *   signatures  2. each event's Ed25519 signature, by a key the bundle lists
 *   sealing     3. sealed then published, this item and case, item_digest null, seq/prev,
 *                  exact details, one commitment
 *   checkpoint  4. the C2SP checkpoint note, signed by a log key (pinned when given)
 *   inclusion   5. RFC 6962 inclusion of both events at the checkpoint's size and root
 *   disclosure  6. the salted-segment proof rebuilds the sealed root and renders public_text
 *   text        7. SHA-256(public_text) and title/kind/language are the signed ones
 *   keys        8. every listed key signed something
 *
 * Nothing here touches the page: verifyPublicBundle(bytes, {trustedKeys}) resolves to a
 * report, or rejects with a VerifyError naming the check that failed, a message code and
 * its parameters (pages.js turns codes into the reader's language). No network, no eval.
 */
(function (root) {
  "use strict";

  var FORMAT = "temoin-public-bundle/v1";
  var SCHEME = "temoin-disclosure/v1";
  var MAX_SAFE = Number.MAX_SAFE_INTEGER;
  var EVENT_FIELDS = ["actor", "at", "case", "details", "item", "item_digest", "prev", "seq", "type", "v"];
  var EVENT_TYPES = ["accessed", "collected", "exported", "ingested", "key_added", "published",
    "redacted", "sealed", "transferred", "verified"];
  var TOP = ["checkpoint", "disclosure", "events", "format", "inclusion", "item", "keys", "public_text"];
  var ITEM = ["case", "id", "kind", "language", "title"];
  var SEALED_DETAILS = ["commitment"];
  var PUBLISHED_DETAILS = ["commitment_root", "kind", "language", "public_text_digest", "public_title"];
  var enc = new TextEncoder();

  function VerifyError(check, code, params) {
    this.name = "VerifyError";
    this.check = check;
    this.code = code;
    this.params = params || {};
    this.message = check + ": " + code + " " + JSON.stringify(this.params);
  }
  VerifyError.prototype = Object.create(Error.prototype);

  function fail(check, code, params) { throw new VerifyError(check, code, params); }

  // ---- bytes, hex, base64 -------------------------------------------------------------

  function concat() {
    var total = 0, i;
    for (i = 0; i < arguments.length; i++) total += arguments[i].length;
    var out = new Uint8Array(total), at = 0;
    for (i = 0; i < arguments.length; i++) { out.set(arguments[i], at); at += arguments[i].length; }
    return out;
  }
  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    var diff = 0;
    for (var i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }
  function hex(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return s;
  }
  function b64encode(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  }
  var B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  /** Strict standard base64 (padded, canonical), as evidence.signing._b64decode; null if not. */
  function b64decodeStrict(text) {
    if (typeof text !== "string" || !B64.test(text)) return null;
    var raw = atob(text), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return b64encode(out) === text ? out : null;
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  async function leafHash(data) { return sha256(concat(new Uint8Array([0]), data)); }
  async function nodeHash(left, right) { return sha256(concat(new Uint8Array([1]), left, right)); }

  // ---- strict JSON (the bundle file): duplicate members refused, floats told apart ------

  function JsonFloat(value) { this.value = value; }

  function parseStrictJson(text) {
    var i = 0;
    function err() { fail("format", "not_json", { pos: i }); }
    function ws() { while (i < text.length && " \t\n\r".indexOf(text[i]) >= 0) i++; }
    function value(depth) {
      if (depth > 512) err();
      ws();
      var c = text[i];
      if (c === "{") return object(depth);
      if (c === "[") return array(depth);
      if (c === '"') return string();
      if (c === "t" && text.substr(i, 4) === "true") { i += 4; return true; }
      if (c === "f" && text.substr(i, 5) === "false") { i += 5; return false; }
      if (c === "n" && text.substr(i, 4) === "null") { i += 4; return null; }
      return num();
    }
    function object(depth) {
      var out = Object.create(null), seen = {};
      i++; ws();
      if (text[i] === "}") { i++; return out; }
      for (;;) {
        ws();
        if (text[i] !== '"') err();
        var key = string();
        if (Object.prototype.hasOwnProperty.call(seen, key)) fail("format", "duplicate", { name: key });
        seen[key] = true;
        ws();
        if (text[i] !== ":") err();
        i++;
        out[key] = value(depth + 1);
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return out; }
        err();
      }
    }
    function array(depth) {
      var out = [];
      i++; ws();
      if (text[i] === "]") { i++; return out; }
      for (;;) {
        out.push(value(depth + 1));
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; return out; }
        err();
      }
    }
    function string() {
      var start = i;
      i++;
      for (;;) {
        if (i >= text.length) err();
        var c = text.charCodeAt(i);
        if (c === 0x22) break;
        if (c < 0x20) err();
        if (c === 0x5c) i++;
        i++;
      }
      i++;
      try { return JSON.parse(text.slice(start, i)); } catch (e) { i = start; err(); }
    }
    function num() {
      var m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
      if (!m) err();
      i += m[0].length;
      var v = Number(m[0]);
      if (!isFinite(v)) err();
      return (m[1] || m[2]) ? new JsonFloat(v) : v;
    }
    var result = value(0);
    ws();
    if (i !== text.length) err();
    return result;
  }

  // ---- RFC 8785 canonical JSON (events) -------------------------------------------------

  var LONE_SURROGATE = /\p{Cs}/u;

  function canonicalize(v, depth) {
    if (depth > 256) throw new Error("too deep");
    if (v === null || v === true || v === false) return JSON.stringify(v);
    if (typeof v === "number") {
      if (!isFinite(v)) throw new Error("not finite");
      // ECMAScript Number::toString, which RFC 8785 uses; an integer beyond 2**53 - 1 is
      // written as the double it became, as evidence.canonical does on reading.
      return JSON.stringify(v);
    }
    if (typeof v === "string") {
      if (LONE_SURROGATE.test(v)) throw new Error("lone surrogate");
      return JSON.stringify(v);
    }
    if (Array.isArray(v)) {
      return "[" + v.map(function (x) { return canonicalize(x, depth + 1); }).join(",") + "]";
    }
    var keys = Object.keys(v).sort(); // UTF-16 code unit order, as RFC 8785 asks
    return "{" + keys.map(function (k) {
      if (LONE_SURROGATE.test(k)) throw new Error("lone surrogate");
      return JSON.stringify(k) + ":" + canonicalize(v[k], depth + 1);
    }).join(",") + "}";
  }

  /** evidence.canonical.parse_canonical: UTF-8, JSON, and exactly its canonical bytes. */
  function parseCanonical(bytes) {
    var text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    var value = JSON.parse(text);
    if (!equalBytes(enc.encode(canonicalize(value, 0)), bytes)) throw new Error("not canonical");
    return value;
  }

  // ---- parsing the bundle (parse_public_bundle) -------------------------------------------

  function kindOf(v) {
    if (v === null) return "null";
    if (Array.isArray(v)) return "array";
    if (v instanceof JsonFloat) return "number";
    return typeof v;
  }
  function isObject(v) { return kindOf(v) === "object"; }
  function members(v, path, required, optional) {
    if (!isObject(v)) fail("format", "expected_object", { path: path });
    var k;
    for (k = 0; k < required.length; k++) {
      if (!Object.prototype.hasOwnProperty.call(v, required[k])) {
        fail("format", "missing", { path: path, name: required[k] });
      }
    }
    var extra = Object.keys(v).filter(function (x) {
      return required.indexOf(x) < 0 && (optional || []).indexOf(x) < 0;
    }).sort();
    if (extra.length) fail("format", "unexpected", { path: path, name: extra[0] });
    return v;
  }
  function str(v, path) {
    if (typeof v !== "string" || !v) fail("format", "expected_string", { path: path });
    return v;
  }
  function int(v, path) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_SAFE) {
      fail("format", "expected_integer", { path: path });
    }
    return v;
  }
  function arr(v, path) {
    if (!Array.isArray(v)) fail("format", "expected_array", { path: path });
    return v;
  }
  function bytesOf(v, path) {
    var out = b64decodeStrict(str(v, path));
    if (out === null) fail("format", "base64", { path: path });
    return out;
  }
  function hashes(v, path) {
    return arr(v, path).map(function (h, i) {
      var b = bytesOf(h, path + "[" + i + "]");
      if (b.length !== 32) fail("format", "hash_size", { path: path + "[" + i + "]", n: b.length });
      return b;
    });
  }
  function checkText(v, path) {
    if (LONE_SURROGATE.test(v)) fail("format", "bad_text", { path: path });
    return v;
  }

  /** evidence.signing.check_key_name: no white space, no control character, no '+'. */
  var BAD_KEY_NAME = /[\s+\p{C}\p{Z}]/u;
  function keyNameOk(name) { return typeof name === "string" && name.length > 0 && !BAD_KEY_NAME.test(name); }

  async function keyId(name, publicKey) {
    var digest = await sha256(concat(enc.encode(name), new Uint8Array([0x0a, 0x01]), publicKey));
    return digest.slice(0, 4);
  }

  /** A C2SP verifier key name+hexid+base64(0x01 || key); null when it is not one. */
  async function parseVerifierKey(text) {
    if (typeof text !== "string") return null;
    var first = text.indexOf("+"), second = first < 0 ? -1 : text.indexOf("+", first + 1);
    if (first < 0 || second < 0) return null;
    var name = text.slice(0, first), idHex = text.slice(first + 1, second);
    var payload = b64decodeStrict(text.slice(second + 1));
    if (!keyNameOk(name) || !/^[0-9a-fA-F]{8}$/.test(idHex) || payload === null) return null;
    if (payload.length !== 33 || payload[0] !== 0x01) return null;
    var publicKey = payload.slice(1);
    var id = await keyId(name, publicKey);
    if (hex(id) !== idHex.toLowerCase()) return null;
    return { name: name, publicKey: publicKey, keyId: id, keyIdHex: hex(id), vkey: text };
  }

  async function parseBundle(bytes) {
    var text;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (e) {
      fail("format", "not_utf8", {});
    }
    var rootValue = parseStrictJson(text);
    if (isObject(rootValue) && rootValue.format !== FORMAT) fail("format", "wrong_format", { path: "$.format" });
    var obj = members(rootValue, "$", TOP);
    var item = members(obj.item, "$.item", ITEM);
    var disclosure = parseDisclosure(obj.disclosure, "$.disclosure");
    var events = arr(obj.events, "$.events");
    if (events.length !== 2) fail("format", "two_events", { n: events.length });
    var parsedItem = {};
    ITEM.forEach(function (k) { parsedItem[k] = str(item[k], "$.item." + k); });
    var bundle = {
      item: parsedItem,
      publicText: str(obj.public_text, "$.public_text"),
      disclosure: disclosure,
      events: events.map(function (e, i) {
        var p = "$.events[" + i + "]";
        var m = members(e, p, ["canonical", "key_id", "log_index", "signature"]);
        var id = str(m.key_id, p + ".key_id");
        if (!/^[0-9a-f]{8}$/.test(id)) fail("format", "key_id", { path: p + ".key_id" });
        return {
          logIndex: int(m.log_index, p + ".log_index"),
          canonical: bytesOf(m.canonical, p + ".canonical"),
          keyId: id,
          signature: bytesOf(m.signature, p + ".signature"),
        };
      }),
      keys: [],
      checkpoint: null,
      inclusion: null,
    };
    var keys = arr(obj.keys, "$.keys"), seen = {};
    for (var i = 0; i < keys.length; i++) {
      var where = "$.keys[" + i + "]";
      var key = await parseVerifierKey(str(keys[i], where));
      if (key === null) fail("format", "vkey", { path: where });
      if (seen[key.keyIdHex]) fail("format", "key_twice", { path: where, key: key.keyIdHex });
      seen[key.keyIdHex] = true;
      bundle.keys.push(key);
    }
    bundle.checkpoint = str(obj.checkpoint, "$.checkpoint");
    bundle.inclusion = arr(obj.inclusion, "$.inclusion").map(function (p, i) {
      var path = "$.inclusion[" + i + "]";
      var m = members(p, path, ["hashes", "log_index"]);
      return { logIndex: int(m.log_index, path + ".log_index"), hashes: hashes(m.hashes, path + ".hashes") };
    });
    return bundle;
  }

  function parseDisclosure(v, path) {
    var m = members(v, path, ["count", "parts", "scheme"]);
    if (m.scheme !== SCHEME) fail("format", "scheme", { path: path + ".scheme" });
    var count = int(m.count, path + ".count");
    var parts = arr(m.parts, path + ".parts").map(function (p, i) {
      var where = path + ".parts[" + i + "]";
      if (isObject(p) && Object.prototype.hasOwnProperty.call(p, "text")) {
        var vis = members(p, where, ["salt", "text"]);
        var text = checkText(str(vis.text, where + ".text"), where + ".text");
        var salt = bytesOf(vis.salt, where + ".salt");
        if (salt.length !== 32) fail("format", "hash_size", { path: where + ".salt", n: salt.length });
        return { visible: true, text: text, salt: salt };
      }
      if (isObject(p) && Object.prototype.hasOwnProperty.call(p, "label")) {
        var hid = members(p, where, ["end", "hashes", "label", "start"]);
        var label = checkText(str(hid.label, where + ".label"), where + ".label");
        var start = int(hid.start, where + ".start"), end = int(hid.end, where + ".end");
        if (end <= start) fail("format", "run_order", { path: where });
        return { visible: false, label: label, start: start, end: end, hashes: hashes(hid.hashes, where + ".hashes") };
      }
      fail("format", "part", { path: where });
    });
    if (count === 0 || !parts.length) fail("format", "empty_disclosure", { path: path });
    return { count: count, parts: parts };
  }

  // ---- custody events (evidence.custody.validate_event) -----------------------------------

  var TIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.([0-9]{6}))?Z$/;
  var DIGEST = /^sha256:[0-9a-f]{64}$/;

  function validTime(text) {
    var m = typeof text === "string" && TIME.exec(text);
    if (!m) return false;
    var y = +m[1], mo = +m[2], d = +m[3], h = +m[4], mi = +m[5], s = +m[6];
    if (y < 1 || mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return false;
    var date = new Date(0);
    date.setUTCFullYear(y, mo - 1, d);
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return false;
    return !(m[8] !== undefined && /^0{6}$/.test(m[8])); // microseconds only when non-zero
  }

  function eventProblem(e) {
    if (!isObject(e)) return "object";
    var keys = Object.keys(e).sort();
    if (keys.join(",") !== EVENT_FIELDS.join(",")) return "fields";
    if (e.v !== 1) return "v";
    for (var f of ["case", "item", "actor"]) if (typeof e[f] !== "string" || !e[f]) return f;
    if (!Number.isInteger(e.seq) || e.seq < 0 || e.seq > MAX_SAFE) return "seq";
    if (EVENT_TYPES.indexOf(e.type) < 0) return "type";
    if (!validTime(e.at)) return "at";
    for (var g of ["item_digest", "prev"]) if (e[g] !== null && !(typeof e[g] === "string" && DIGEST.test(e[g]))) return g;
    if (!isObject(e.details)) return "details";
    return null;
  }

  // ---- Ed25519 ---------------------------------------------------------------------------

  async function ed25519Verify(publicKey, signature, message) {
    if (signature.length !== 64) return false;
    try {
      var key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
      return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
    } catch (e) {
      return false;
    }
  }

  // ---- C2SP signed note and checkpoint ---------------------------------------------------

  var NOTE_FORBIDDEN = /[\x00-\x09\x0b-\x1f\x7f]|\p{Cs}/u;
  var LINE_FORBIDDEN = /[\x00-\x1f\x7f]|\p{Cs}/u;

  function parseNote(note) {
    if (typeof note !== "string" || NOTE_FORBIDDEN.test(note) || note.slice(-1) !== "\n") return null;
    var split = note.lastIndexOf("\n\n");
    if (split < 0) return null;
    var text = note.slice(0, split + 1), block = note.slice(split + 2);
    if (text === "\n" || text[0] === "\n") return null;
    var lines = block.slice(0, -1).split("\n");
    if (lines.length > 100) return null;
    var signatures = [];
    for (var i = 0; i < lines.length; i++) {
      if (lines[i].indexOf("\u2014 ") !== 0) return null;
      var fields = lines[i].slice(2).split(" ");
      if (fields.length !== 2 || !keyNameOk(fields[0])) return null;
      var payload = b64decodeStrict(fields[1]);
      if (payload === null || payload.length < 5) return null;
      signatures.push({ name: fields[0], keyId: payload.slice(0, 4), signature: payload.slice(4) });
    }
    return { text: text, signatures: signatures };
  }

  function parseCheckpoint(text) {
    var lines = text.slice(0, -1).split("\n");
    if (lines.length < 3) return null;
    var origin = lines[0], sizeText = lines[1];
    if (!origin || LINE_FORBIDDEN.test(origin)) return null;
    if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeText)) return null;
    var size = BigInt(sizeText);
    if (size > 18446744073709551615n) return null;
    var rootHash = b64decodeStrict(lines[2]);
    if (rootHash === null || rootHash.length !== 32) return null;
    for (var i = 3; i < lines.length; i++) if (!lines[i] || LINE_FORBIDDEN.test(lines[i])) return null;
    return { origin: origin, size: size, rootHash: rootHash };
  }

  function sameKey(a, b) { return a.name === b.name && equalBytes(a.publicKey, b.publicKey); }

  // ---- RFC 6962 inclusion (evidence.merkle.verify_inclusion) -----------------------------

  async function verifyInclusion(leaf, index, size, proof, rootHash) {
    var fn = BigInt(index), sn = size - 1n, r = leaf;
    if (BigInt(index) >= size) return false;
    for (var i = 0; i < proof.length; i++) {
      if (sn === 0n) return false;
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(proof[i], r);
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await nodeHash(r, proof[i]);
      }
      fn >>= 1n; sn >>= 1n;
    }
    return sn === 0n && equalBytes(r, rootHash);
  }

  // ---- disclosure proofs (evidence.disclosure.verify_disclosure) -------------------------

  /* Python's re \w (Unicode): letters, digits and numbers, underscore; \s: str.isspace(). */
  var SEGMENT = /[\p{L}\p{N}_]+|[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\s\S]/gu;

  function segment(text) { return text.match(SEGMENT) || []; }

  function split(n) { var k = 1; while (k * 2 < n) k *= 2; return k; }

  function cover(start, end, count) {
    var nodes = [];
    (function visit(lo, hi) {
      if (start <= lo && hi <= end) nodes.push([lo, hi]);
      else if (lo < end && start < hi) { var mid = lo + split(hi - lo); visit(lo, mid); visit(mid, hi); }
    })(0, count);
    return nodes;
  }

  function render(disclosure) {
    return disclosure.parts.map(function (p) { return p.visible ? p.text : "[" + p.label + "]"; }).join("");
  }

  async function verifyDisclosure(disclosure, rootHash, count) {
    var C = "disclosure";
    if (disclosure.count !== count) fail(C, "disc_count", { n: disclosure.count, count: count });
    var visible = new Map(), hidden = new Map(), position = 0, previousLabel = null;
    disclosure.parts.forEach(function (part, i) {
      if (position >= count) fail(C, "disc_past", { i: i });
      if (part.visible) {
        var segs = segment(part.text);
        if (segs.length !== 1 || segs[0] !== part.text) fail(C, "disc_not_segment", { i: i });
        visible.set(position, part);
        position += 1;
        previousLabel = null;
        return;
      }
      if (part.start !== position) fail(C, "disc_gap", { i: i });
      if (part.end > count) fail(C, "disc_past_end", { i: i });
      if (part.label === previousLabel) fail(C, "disc_same_label", { i: i });
      var nodes = cover(part.start, part.end, count);
      if (part.hashes.length !== nodes.length) fail(C, "disc_hash_count", { i: i, n: part.hashes.length, expected: nodes.length });
      nodes.forEach(function (node, j) { hidden.set(node[0] + ":" + node[1], part.hashes[j]); });
      position = part.end;
      previousLabel = part.label;
    });
    if (position !== count) fail(C, "disc_short", {});
    async function node(lo, hi) {
      var known = hidden.get(lo + ":" + hi);
      if (known) return known;
      if (hi - lo === 1) {
        var part = visible.get(lo);
        return leafHash(concat(part.salt, enc.encode(part.text)));
      }
      var mid = lo + split(hi - lo);
      return nodeHash(await node(lo, mid), await node(mid, hi));
    }
    var computed = await node(0, count);
    if (!equalBytes(computed, rootHash)) fail(C, "disc_root", { computed: hex(computed), sealed: hex(rootHash) });
    return render(disclosure);
  }

  // ---- the checks ------------------------------------------------------------------------

  async function digestText(bytes) { return "sha256:" + hex(await sha256(bytes)); }

  function exactDetails(event, wanted) {
    var keys = Object.keys(event.details).sort();
    if (keys.join(",") !== wanted.join(",")) fail("sealing", "details", { type: event.type });
    return event.details;
  }

  /**
   * Verify a public bundle (its bytes). options.trustedKeys: verifier-key strings that pin
   * the log key (the archive's published keys); options.onCheck(name, code, params) is
   * called as each check holds. Resolves to the report; rejects with a VerifyError.
   */
  async function verifyPublicBundle(bytes, options) {
    options = options || {};
    var onCheck = options.onCheck || function () {};
    var checks = [], warnings = [];
    function ok(name, code, params) { checks.push({ name: name, code: code, params: params }); onCheck(name, code, params); }
    if (!(root.crypto && crypto.subtle)) fail("format", "no_webcrypto", {});

    var trusted = null;
    if (options.trustedKeys) {
      trusted = [];
      for (var t = 0; t < options.trustedKeys.length; t++) {
        var tk = await parseVerifierKey(options.trustedKeys[t]);
        if (tk) trusted.push(tk);
      }
      if (!trusted.length) trusted = null;
    }

    var bundle = await parseBundle(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    ok("format", "format_ok", { id: bundle.item.id });
    if (options.expectId && bundle.item.id !== options.expectId) {
      fail("record", "other_record", { found: bundle.item.id, expected: options.expectId });
    }
    if (options.expectId) ok("record", "record_ok", { id: bundle.item.id });

    // 1. event format
    var events = bundle.events.map(function (bundled, i) {
      var value;
      try { value = parseCanonical(bundled.canonical); } catch (e) { fail("events", "not_canonical", { i: i }); }
      var problem = eventProblem(value);
      if (problem) fail("events", "bad_event", { i: i, field: problem });
      return value;
    });
    ok("events", "events_ok", { n: events.length });

    // 2. event signatures
    var byId = {};
    bundle.keys.forEach(function (k) { byId[k.keyIdHex] = k; });
    var used = {};
    for (var i = 0; i < bundle.events.length; i++) {
      var be = bundle.events[i], key = byId[be.keyId];
      if (!key) fail("signatures", "sig_key_missing", { i: i, key: be.keyId });
      if (!(await ed25519Verify(key.publicKey, be.signature, be.canonical))) {
        fail("signatures", "sig_bad", { i: i, key: be.keyId, name: key.name });
      }
      used[key.keyIdHex] = true;
    }
    var signers = Array.from(new Set(bundle.events.map(function (e) { return e.keyId; }))).sort();
    ok("signatures", "signatures_ok", { keys: signers.join(", ") });

    // 3. sealing and publication
    var S = "sealing";
    var types = events.map(function (e) { return e.type; });
    if (types.join(",") !== "sealed,published") fail(S, "two_types", { types: types.join(", ") });
    var sealed = events[0], published = events[1];
    events.forEach(function (e) {
      if (e.item !== bundle.item.id || e.case !== bundle.item.case) fail(S, "other_item", { type: e.type });
      if (e.item_digest !== null) fail(S, "names_digest", { type: e.type });
      if ((e.seq === 0) !== (e.prev === null)) fail(S, "prev_seq", { type: e.type, seq: e.seq });
    });
    if (sealed.seq >= published.seq) fail(S, "order", {});
    if (published.seq === sealed.seq + 1 && published.prev !== await digestText(bundle.events[0].canonical)) {
      fail(S, "prev_link", {});
    }
    var sealedDetails = exactDetails(sealed, SEALED_DETAILS);
    var commitment = sealedDetails.commitment;
    var commitmentRoot = null;
    if (isObject(commitment) && Object.keys(commitment).sort().join(",") === "count,root,scheme" &&
        commitment.scheme === SCHEME && typeof commitment.root === "string" &&
        Number.isInteger(commitment.count) && commitment.count >= 1 && commitment.count <= MAX_SAFE) {
      commitmentRoot = b64decodeStrict(commitment.root);
    }
    if (!commitmentRoot || commitmentRoot.length !== 32) fail(S, "commitment", {});
    var details = exactDetails(published, PUBLISHED_DETAILS);
    if (details.commitment_root !== b64encode(commitmentRoot)) fail(S, "other_commitment", {});
    ok(S, published.seq === sealed.seq + 1 ? "sealing_ok_next" : "sealing_ok", {
      first: sealed.seq, last: published.seq, between: published.seq - sealed.seq - 1,
    });

    // 4. checkpoint signature
    var K = "checkpoint";
    var note = parseNote(bundle.checkpoint);
    var checkpoint = note && parseCheckpoint(note.text);
    if (!note || !checkpoint) fail(K, "note_malformed", {});
    var known = bundle.keys.concat(trusted || []);
    var noteSigners = [];
    for (var s = 0; s < note.signatures.length; s++) {
      var sig = note.signatures[s];
      var signer = known.find(function (k) { return k.name === sig.name && equalBytes(k.keyId, sig.keyId); });
      if (!signer) fail(K, "note_unknown_key", { name: sig.name, key: hex(sig.keyId) });
      if (!(await ed25519Verify(signer.publicKey, sig.signature, enc.encode(note.text)))) {
        fail(K, "note_sig_bad", { name: signer.name, key: signer.keyIdHex });
      }
      noteSigners.push(signer);
    }
    var logSigners = noteSigners.filter(function (k) { return k.name === checkpoint.origin; });
    if (!logSigners.length) fail(K, "note_no_log_key", { origin: checkpoint.origin });
    if (trusted) {
      logSigners = logSigners.filter(function (k) { return trusted.some(function (t) { return sameKey(t, k); }); });
      if (!logSigners.length) fail(K, "note_not_trusted", {});
    }
    noteSigners.forEach(function (k) { used[k.keyIdHex] = true; });
    var names = logSigners.map(function (k) { return k.name + " (" + k.keyIdHex + ")"; }).join(", ");
    if (trusted) {
      ok(K, "checkpoint_ok_pinned", { size: checkpoint.size.toString(), names: names });
    } else {
      ok(K, "checkpoint_ok_unpinned", { size: checkpoint.size.toString(), names: names });
      warnings.push("warn_unpinned");
    }

    // 5. log inclusion
    var I = "inclusion";
    for (var j = 0; j < bundle.events.length; j++) {
      var ev = bundle.events[j];
      if (j && ev.logIndex <= bundle.events[j - 1].logIndex) fail(I, "inc_order", { i: j });
      if (j >= bundle.inclusion.length) fail(I, "inc_missing", { i: j });
      var proof = bundle.inclusion[j];
      if (proof.logIndex !== ev.logIndex) fail(I, "inc_index", { i: j });
      var good = await verifyInclusion(await leafHash(ev.canonical), ev.logIndex, checkpoint.size, proof.hashes, checkpoint.rootHash);
      if (!good) fail(I, "inc_bad", { i: j, index: ev.logIndex });
    }
    if (bundle.inclusion.length > bundle.events.length) fail(I, "inc_extra", {});
    ok(I, "inclusion_ok", { size: checkpoint.size.toString() });

    // 6. disclosure proof
    var rendered = await verifyDisclosure(bundle.disclosure, commitmentRoot, commitment.count);
    if (rendered !== bundle.publicText) {
      var at = 0;
      while (at < rendered.length && at < bundle.publicText.length && rendered[at] === bundle.publicText[at]) at++;
      fail("disclosure", "disc_render", { at: at });
    }
    var withheld = bundle.disclosure.parts.filter(function (p) { return !p.visible; }).map(function (p) { return p.label; });
    var labels = Array.from(new Set(withheld)).map(function (l) { return "[" + l + "]"; }).join(", ");
    ok("disclosure", "disclosure_ok", { count: commitment.count, n: withheld.length, labels: labels });

    // 7. published text
    var digest = await digestText(enc.encode(bundle.publicText));
    if (details.public_text_digest !== digest) fail("text", "text_digest", { digest: digest });
    [["title", "public_title"], ["kind", "kind"], ["language", "language"]].forEach(function (pair) {
      if (details[pair[1]] !== bundle.item[pair[0]]) fail("text", "text_meta", { field: pair[0] });
    });
    ok("text", "text_ok", { digest: digest });

    // 8. keys
    bundle.keys.forEach(function (k) {
      if (!used[k.keyIdHex]) fail("keys", "keys_unused", { key: k.keyIdHex, name: k.name });
    });
    ok("keys", "keys_ok", { n: bundle.keys.length });

    return {
      item: bundle.item,
      publicText: bundle.publicText,
      withheld: withheld,
      labels: labels,
      checkpoint: { origin: checkpoint.origin, size: checkpoint.size.toString(), rootHash: b64encode(checkpoint.rootHash) },
      pinned: !!trusted,
      checks: checks,
      warnings: warnings,
    };
  }

  root.TemoinVerify = {
    VerifyError: VerifyError,
    verifyPublicBundle: verifyPublicBundle,
    sha256: sha256,
    hex: hex,
    segment: segment,
    canonicalize: function (v) { return canonicalize(v, 0); },
  };
})(typeof globalThis !== "undefined" ? globalThis : this);
