/*
 * Progressive enhancement of the public pages (the pages work without it):
 *  - a record page checks its public bundle in the browser (verifier.js);
 *  - the verify page hashes a chosen file with WebCrypto (the file never leaves the
 *    machine) and asks the archive whether that digest is a published exhibit.
 * Every text shown comes from the page's <template id="...-messages"> (translated on the
 * server), so the reader gets their language.
 */
(function () {
  "use strict";

  function messages(id) {
    var table = {};
    var template = document.getElementById(id);
    if (template) {
      template.content.querySelectorAll("[data-msg]").forEach(function (el) {
        table[el.getAttribute("data-msg")] = el.textContent;
      });
    }
    return function (code, params) {
      var text = Object.prototype.hasOwnProperty.call(table, code) ? table[code] : code;
      return text.replace(/\{(\w+)\}/g, function (whole, name) {
        return params && params[name] !== undefined ? String(params[name]) : whole;
      });
    };
  }

  function show(el) { if (el) el.hidden = false; }

  // ---- record page: verify this record --------------------------------------------------

  function paragraphsOf(text) {
    return text.split("\n").filter(function (p) { return p.trim() !== ""; });
  }

  function pageText() {
    var body = document.querySelector("article.record .text");
    if (!body) return [];
    return Array.prototype.map.call(body.querySelectorAll("p"), function (p) {
      var copy = p.cloneNode(true);
      copy.querySelectorAll(".visually-hidden").forEach(function (n) { n.remove(); });
      return copy.textContent;
    });
  }

  function setupRecord(section) {
    var msg = messages("verify-messages");
    var button = document.getElementById("verify-run");
    var list = document.getElementById("verify-checks");
    var verdict = document.getElementById("verify-verdict");
    show(section.querySelector(".js-only"));

    function item(name) { return list.querySelector('[data-check="' + name + '"]'); }
    function mark(name, state, detail) {
      var li = item(name);
      if (!li) return;
      li.setAttribute("data-state", state);
      li.querySelector(".status").textContent = state === "ok" ? "✓" : state === "failed" ? "✗" : state === "running" ? "…" : "–";
      li.querySelector(".state-text").textContent = " " + msg("state_" + state) + (detail ? ":" : "");
      li.querySelector(".detail").textContent = detail || "";
    }
    function withheldSummary(p) {
      if (!p.n) return msg("withheld_none");
      return msg(p.n === 1 ? "withheld_one" : "withheld_many", p);
    }

    button.addEventListener("click", async function () {
      button.disabled = true;
      show(list);
      list.querySelectorAll("li").forEach(function (li) { mark(li.getAttribute("data-check"), "pending", ""); });
      verdict.className = "verdict";
      verdict.textContent = msg("running");
      var current = "format";
      try {
        if (!(window.crypto && crypto.subtle && window.TemoinVerify)) {
          throw new TemoinVerify.VerifyError("format", "no_webcrypto", {});
        }
        var trustedKeys = null, keysNote = null;
        try {
          var keysResponse = await fetch(section.getAttribute("data-keys"), { cache: "no-store" });
          if (keysResponse.ok) {
            trustedKeys = (await keysResponse.text()).split("\n").filter(Boolean);
          }
        } catch (e) { trustedKeys = null; }
        if (!trustedKeys || !trustedKeys.length) { trustedKeys = null; keysNote = "warn_unpinned"; }
        var response;
        try {
          response = await fetch(section.getAttribute("data-bundle"), { cache: "no-store" });
        } catch (e) {
          throw new TemoinVerify.VerifyError("format", "fetch_failed", { status: "network" });
        }
        if (!response.ok) throw new TemoinVerify.VerifyError("format", "fetch_failed", { status: response.status });
        var bytes = new Uint8Array(await response.arrayBuffer());
        mark("format", "running", "");
        var report = await TemoinVerify.verifyPublicBundle(bytes, {
          trustedKeys: trustedKeys,
          expectId: section.getAttribute("data-uid"),
          onCheck: function (name, code, params) {
            var detail = msg(code, params);
            if (name === "disclosure") detail += " " + withheldSummary(params);
            mark(name, "ok", detail);
            var next = item(name) && item(name).nextElementSibling;
            if (next) { current = next.getAttribute("data-check"); mark(current, "running", ""); }
          },
        });
        current = "page";
        var shown = pageText(), verified = paragraphsOf(report.publicText);
        if (shown.length !== verified.length || shown.some(function (p, i) { return p !== verified[i]; })) {
          throw new TemoinVerify.VerifyError("page", "page_differs", {});
        }
        mark("page", "ok", msg("page_ok"));
        verdict.className = "verdict verdict-ok";
        verdict.textContent = msg("verdict_ok");
        var warnings = report.warnings.concat(keysNote && report.warnings.indexOf(keysNote) < 0 ? [keysNote] : []);
        warnings.forEach(function (w) {
          var p = document.createElement("p");
          p.className = "warning";
          p.textContent = msg(w);
          verdict.appendChild(p);
        });
      } catch (error) {
        var failed = (error && error.check) || current;
        var detail = error && error.code ? msg(error.code, error.params) : msg("unexpected_error");
        mark(failed, "failed", detail);
        var seen = false;
        list.querySelectorAll("li").forEach(function (li) {
          var name = li.getAttribute("data-check");
          if (name === failed) { seen = true; return; }
          if (seen || li.getAttribute("data-state") !== "ok") mark(name, "skipped", "");
        });
        verdict.className = "verdict verdict-failed";
        verdict.textContent = msg("verdict_failed", { check: item(failed) ? item(failed).querySelector("strong").textContent : failed });
      } finally {
        button.disabled = false;
      }
    });
  }

  // ---- verify page: hash a file here, look its digest up --------------------------------

  function setupVerify(section) {
    var msg = messages("verify-file-messages");
    var input = document.getElementById("file");
    var status = document.getElementById("file-status");
    var result = document.getElementById("file-result");
    var digestField = document.getElementById("digest");
    show(section);

    function line(parent, tag, text, className) {
      var el = document.createElement(tag);
      if (className) el.className = className;
      el.textContent = text;
      parent.appendChild(el);
      return el;
    }

    input.addEventListener("change", async function () {
      result.textContent = "";
      var file = input.files && input.files[0];
      if (!file) return;
      if (!(window.crypto && crypto.subtle)) { status.textContent = msg("no_webcrypto"); return; }
      status.textContent = msg("hashing", { name: file.name });
      var digest;
      try {
        var bytes = await file.arrayBuffer();
        digest = "sha256:" + TemoinVerify.hex(await TemoinVerify.sha256(bytes));
      } catch (e) {
        status.textContent = msg("read_failed", { name: file.name });
        return;
      }
      if (digestField) digestField.value = digest;
      status.textContent = msg("hashed", { name: file.name });
      line(result, "p", msg("your_digest"));
      line(result, "code", digest, "digest");
      var answer;
      try {
        var response = await fetch(section.getAttribute("data-lookup") + encodeURIComponent(digest), { cache: "no-store" });
        if (!response.ok) throw new Error(String(response.status));
        answer = await response.json();
      } catch (e) {
        line(result, "p", msg("lookup_failed"), "error");
        return;
      }
      if (!answer.published) {
        var none = line(result, "p", msg("not_found"), "verdict verdict-none");
        none.setAttribute("data-result", "not-found");
        line(result, "p", msg("not_found_hint"));
        return;
      }
      var found = line(result, "p", msg("found", { n: answer.matches.length }), "verdict verdict-ok");
      found.setAttribute("data-result", "found");
      var list = document.createElement("ul");
      list.className = "matches";
      answer.matches.forEach(function (m) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = m.record;
        a.textContent = m.title;
        li.appendChild(a);
        line(li, "span", " — " + msg("match_meta", { media: m.media_type, size: m.size.toLocaleString(document.documentElement.lang), case: m.case }), "meta");
        list.appendChild(li);
      });
      result.appendChild(list);
      line(result, "p", msg("offline_hint"));
    });
  }

  function start() {
    // What is said to readers without JavaScript (it is off, or a script did not load).
    document.querySelectorAll(".no-js-only").forEach(function (el) { el.hidden = true; });
    var record = document.querySelector("section.verify-record[data-bundle]");
    if (record) setupRecord(record);
    var verify = document.getElementById("verify-file");
    if (verify) setupVerify(verify);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
