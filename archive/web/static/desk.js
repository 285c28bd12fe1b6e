/*
 * Progressive enhancement of the desk (every form works without it):
 *  - drafts: an intake form's fields are kept in this browser's localStorage while they
 *    are typed, per case and form, so that a long testimony survives an ended session or
 *    a refused submission. A kept draft is restored (with a visible notice) when the form
 *    page opens empty; it is forgotten once the archive confirms it stored the item, and
 *    every draft is forgotten when the user signs out.
 *  - a refused form takes the keyboard to its first field marked invalid;
 *  - the redaction review: selecting text in the original fills in the position of the
 *    span to hide (character offsets into the original, as the server counts them).
 * Words shown come from the page's <template id="desk-messages"> (translated there).
 */
(function () {
  "use strict";

  var PREFIX = "temoin-draft:";

  function messages() {
    var table = {};
    var template = document.getElementById("desk-messages");
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

  function storage() {
    try {
      var probe = PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null; // private mode or storage off: the forms still work, without drafts
    }
  }

  function forgetAll(store) {
    var doomed = [];
    for (var i = 0; i < store.length; i++) {
      var key = store.key(i);
      if (key && key.indexOf(PREFIX) === 0) doomed.push(key);
    }
    doomed.forEach(function (key) { store.removeItem(key); });
  }

  function timeOf(stamp) {
    try {
      return new Date(stamp).toLocaleTimeString(document.documentElement.lang || undefined,
        { hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return new Date(stamp).toISOString();
    }
  }

  // ---- drafts -----------------------------------------------------------------------------

  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.name.indexOf("csrf_token") !== -1) return false;
      if (el.type === "file" || el.type === "hidden" || el.type === "password") return false;
      if (el.type === "submit" || el.type === "button") return false;
      return true;
    });
  }

  function collect(form) {
    var values = {};
    draftFields(form).forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) values[el.name] = el.value;
      } else {
        values[el.name] = el.value;
      }
    });
    return values;
  }

  function hasContent(values) {
    return Object.keys(values).some(function (name) {
      return typeof values[name] === "string" && values[name].trim() !== "" && name !== "language";
    });
  }

  function restore(form, values) {
    draftFields(form).forEach(function (el) {
      if (!Object.prototype.hasOwnProperty.call(values, el.name)) return;
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = values[el.name] === el.value;
      } else {
        el.value = values[el.name];
      }
    });
  }

  function setupDraft(form, store, msg) {
    var key = PREFIX + form.getAttribute("data-draft");
    var notice = document.getElementById("draft-notice");
    document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
    document.querySelectorAll(".no-js-only").forEach(function (el) { el.hidden = true; });

    var kept = null;
    try { kept = JSON.parse(store.getItem(key) || "null"); } catch (e) { kept = null; }
    var fresh = form.getAttribute("data-draft-fresh") === "yes";
    if (kept && kept.values && fresh && hasContent(kept.values) && notice) {
      restore(form, kept.values);
      notice.textContent = "";
      var text = document.createElement("span");
      text.textContent = msg("draft_restored", { time: timeOf(kept.saved) }) + " ";
      var discard = document.createElement("button");
      discard.type = "button";
      discard.className = "secondary";
      discard.textContent = msg("draft_discard");
      discard.addEventListener("click", function () {
        store.removeItem(key);
        form.reset();
        notice.textContent = msg("draft_discarded");
        var first = draftFields(form)[0];
        if (first) first.focus();
      });
      notice.appendChild(text);
      notice.appendChild(discard);
      notice.hidden = false;
    }

    var timer = null;
    function save() {
      timer = null;
      var values = collect(form);
      try {
        if (hasContent(values)) {
          store.setItem(key, JSON.stringify({ saved: Date.now(), values: values }));
        }
      } catch (e) { /* storage full: nothing more to do */ }
    }
    function later() {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(save, 300);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    // Kept until the archive says it stored the item: a refused or expired submission
    // must not lose it.
    form.addEventListener("submit", save);
  }

  // ---- redaction review: select text to hide --------------------------------------------------

  function codePoints(text) {
    return Array.from(text).length;
  }

  // The offset, in the original (code points), of a boundary point of a selection.
  function offsetOf(container, node, offset) {
    if (node.nodeType !== Node.TEXT_NODE) {
      if (offset < node.childNodes.length) {
        node = node.childNodes[offset];
        offset = 0;
        while (node && node.nodeType !== Node.TEXT_NODE) node = node.firstChild;
      } else {
        var walker = node;
        while (walker && walker.nodeType !== Node.TEXT_NODE) walker = walker.lastChild;
        node = walker;
        offset = node ? node.data.length : 0;
      }
      if (!node) return null;
    }
    var run = node.parentElement ? node.parentElement.closest("[data-o]") : null;
    if (!run || !container.contains(run)) return null;
    return parseInt(run.getAttribute("data-o"), 10) + codePoints(node.data.slice(0, offset));
  }

  function setupReview(container, msg) {
    var tools = document.querySelector(".selection-tools");
    var button = document.getElementById("use-selection");
    var status = document.getElementById("selection-status");
    var start = document.getElementById("add_start");
    var end = document.getElementById("add_end");
    var exact = document.getElementById("add_text");
    var occurrence = document.getElementById("add_occurrence");
    var reason = document.getElementById("add_reason");
    if (!tools || !button || !start || !end) return;
    tools.hidden = false;

    button.addEventListener("click", function () {
      var selection = window.getSelection();
      if (!selection || selection.isCollapsed || selection.rangeCount === 0) {
        status.textContent = msg("selection_none");
        return;
      }
      var range = selection.getRangeAt(0);
      if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) {
        status.textContent = msg("selection_outside");
        return;
      }
      var from = offsetOf(container, range.startContainer, range.startOffset);
      var to = offsetOf(container, range.endContainer, range.endOffset);
      if (from === null || to === null || to <= from) {
        status.textContent = msg("selection_outside");
        return;
      }
      // Leave out spaces at either end of the selection (a double-click often takes one).
      var text = range.toString();
      var lead = codePoints(text) - codePoints(text.replace(/^\s+/, ""));
      var trail = codePoints(text) - codePoints(text.replace(/\s+$/, ""));
      from += lead;
      to -= trail;
      start.value = String(from);
      end.value = String(to);
      if (exact) exact.value = text.trim();
      if (occurrence) occurrence.value = "1";
      status.textContent = msg("selection_ready", { start: from, end: to });
      if (reason) reason.focus();
    });
  }

  // ---- start -----------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    var msg = messages();
    var store = storage();
    if (store) {
      document.querySelectorAll("[data-draft-sent]").forEach(function (el) {
        store.removeItem(PREFIX + el.getAttribute("data-draft-sent"));
      });
      document.querySelectorAll("form[data-draft]").forEach(function (form) {
        setupDraft(form, store, msg);
      });
      document.querySelectorAll('form[action$="/logout"]').forEach(function (form) {
        form.addEventListener("submit", function () { forgetAll(store); });
      });
    }
    // A refused form: take the keyboard to its first field marked invalid.
    var invalid = document.querySelector("main form [aria-invalid=\"true\"]");
    if (invalid && !document.querySelector("[autofocus]")) invalid.focus();
    var original = document.getElementById("original-text");
    if (original && document.getElementById("review-form")) setupReview(original, msg);
  });
})();
