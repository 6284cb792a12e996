// vigil: seals the report in the reporter's browser (docs/threat-model.md,
// "Sealing in the reporter's browser").
//
// The form's answers are checked here by the same rules as on the server,
// then encrypted with age (window.age, the vendored age-encryption package)
// to the desk's recipients, and only that ciphertext is posted. The intake
// never receives the words in clear. Without JavaScript, or where this script
// cannot seal (an old browser), the form posts as usual and the server seals.
// Every message shown comes from the page (data-msg-*), in its language.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form || typeof age === "undefined" || !window.fetch || !window.TextEncoder ||
      !window.DOMParser || !window.crypto || !window.crypto.getRandomValues) {
    return;
  }
  var data = form.dataset;
  var recipients = (data.recipients || "").split(/\s+/).filter(Boolean);
  if (recipients.length === 0) {
    return;
  }
  var FIELDS = ["names", "when", "city", "place", "station"];
  var button = form.querySelector("button[type=submit]");
  var status = document.getElementById("seal-status");
  var sending = false;

  function msg(key) { return data["msg" + key.replace(/(^|-)(\w)/g, function (_, d, c) { return c.toUpperCase(); })] || ""; }
  // Characters as the server counts them (Unicode scalar values, not UTF-16 units).
  function chars(s) { return Array.from(s).length; }
  function field(name) { return form.elements.namedItem(name); }
  function value(name) {
    var el = field(name);
    return el ? String(el.value || "") : "";
  }

  // Errors beside their fields, as the server renders them.
  function clearErrors() {
    var old = document.querySelectorAll("main p.error");
    for (var i = 0; i < old.length; i++) { old[i].parentNode.removeChild(old[i]); }
    var invalid = form.querySelectorAll("[aria-invalid]");
    for (var j = 0; j < invalid.length; j++) {
      var el = invalid[j];
      el.removeAttribute("aria-invalid");
      var ids = (el.getAttribute("aria-describedby") || "").split(/\s+/)
        .filter(function (id) { return id && !/-error$/.test(id); });
      el.setAttribute("aria-describedby", ids.join(" "));
    }
  }
  function errorParagraph(id, text) {
    var p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.id = id;
    p.textContent = text;
    return p;
  }
  function fieldError(name, text) {
    var el = document.getElementById(name);
    el.insertAdjacentElement("afterend", errorParagraph(name + "-error", text));
    el.setAttribute("aria-invalid", "true");
    el.setAttribute("aria-describedby",
      (name + "-error " + (el.getAttribute("aria-describedby") || "")).trim());
    return el;
  }
  function formError(text) {
    form.parentNode.insertBefore(errorParagraph("form-error", text), form);
  }
  function say(text) { status.textContent = text; }

  // The same rules, in the same order, as ReportEnvelope::new and
  // ReportDetails::checked on the server: lengths count what was typed,
  // before trimming.
  function validate() {
    var errors = [];
    var text = value("text");
    if (chars(text) > +data.maxText) {
      errors.push(["text", msg("text-long")]);
    } else if (text.trim() === "") {
      errors.push(["text", msg("text-empty")]);
    }
    FIELDS.forEach(function (name) {
      if (chars(value(name)) > +data.maxField) { errors.push([name, msg(name + "-long")]); }
    });
    var region = field("region");
    if (region && region.value && region.selectedIndex < 1) {
      errors.push(["region", msg("region")]);
    }
    if (chars(value("contact")) > +data.maxContact) {
      errors.push(["contact", msg("contact-long")]);
    }
    return errors;
  }

  // What is sealed: the form's answers under the names it posts without
  // JavaScript (vigil_core::browser_sealed::BrowserReport).
  function answers() {
    var report = { v: 1, text: value("text"), urgent: !!(field("urgent") && field("urgent").checked) };
    ["contact", "lang", "happened", "whom", "names", "when", "region", "city", "place", "station", "consent"]
      .forEach(function (name) {
        var v = value(name);
        if (v !== "") { report[name] = v; }
      });
    return report;
  }

  // Padded with spaces (still valid JSON) to a multiple of 1 KiB, so that the
  // ciphertext's size tells the server less about the report's length.
  function padded(report) {
    var json = new TextEncoder().encode(JSON.stringify(report));
    var size = Math.ceil((json.length + 1) / 1024) * 1024;
    var out = new Uint8Array(size);
    out.fill(0x20);
    out.set(json);
    json.fill(0);
    return out;
  }

  // ---- Proof of work, when the intake asks for one (data-challenge-url):
  // SHA-256("CHALLENGE:COUNTER") must start with BITS zero bits.
  var K = new Int32Array([0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  var W = new Int32Array(64);
  // One SHA-256 block (16 words of `m` from `at`) into the state `h`.
  function block(h, m, at) {
    for (var t = 0; t < 64; t++) {
      if (t < 16) {
        W[t] = m[at + t];
      } else {
        var x = W[t - 15], y = W[t - 2];
        var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
      }
    }
    var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (var r = 0; r < 64; r++) {
      var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      var t1 = (k + S1 + ((e & f) ^ (~e & g)) + K[r] + W[r]) | 0;
      var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      var t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
  }
  // The first word of SHA-256(prefix + suffix) for ASCII strings; the whole
  // 64-byte blocks of the prefix are hashed once (its midstate is kept).
  function hasher(prefix) {
    var full = prefix.length >> 6, mid = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372,
      0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    var m = new Int32Array(16), i;
    for (var blk = 0; blk < full; blk++) {
      m.fill(0);
      for (i = 0; i < 64; i++) { m[i >> 2] |= prefix.charCodeAt(blk * 64 + i) << (24 - 8 * (i & 3)); }
      block(mid, m, 0);
    }
    var rest = prefix.slice(full * 64), h = new Int32Array(8), tail = new Int32Array(32);
    return function (suffix) {
      var s = rest + suffix, n = s.length, blocks = (n + 9 + 63) >> 6;
      tail.fill(0);
      for (var j = 0; j < n; j++) { tail[j >> 2] |= s.charCodeAt(j) << (24 - 8 * (j & 3)); }
      tail[n >> 2] |= 0x80 << (24 - 8 * (n & 3));
      tail[blocks * 16 - 1] = (full * 64 + n) * 8;
      h.set(mid);
      for (var q = 0; q < blocks; q++) { block(h, tail, q * 16); }
      return h[0] >>> 0;
    };
  }
  // Solves in slices, so the page stays responsive.
  function solve(challenge) {
    var bits = +(challenge.split(".")[1] || 0);
    var limit = bits >= 32 ? 1 : Math.pow(2, 32 - bits);
    var first = hasher(challenge + ":");
    return new Promise(function (resolve) {
      var counter = 0;
      (function slice() {
        for (var end = counter + 50000; counter < end; counter++) {
          if (first(String(counter)) < limit) {
            resolve(challenge + ":" + counter);
            return;
          }
        }
        setTimeout(slice, 0);
      })();
    });
  }
  function proof() {
    if (!data.challengeUrl) { return Promise.resolve(null); }
    say(msg("working"));
    return fetch(data.challengeUrl, { credentials: "omit", cache: "no-store" })
      .then(function (r) {
        if (!r.ok) { throw new Error("challenge"); }
        return r.json();
      })
      .then(function (c) { return c && c.challenge ? solve(String(c.challenge)) : null; });
  }

  // Shows the receipt page the server answered with, in place of the form
  // (the same page the form gives without JavaScript).
  function showReceipt(html, urgent) {
    var page = new DOMParser().parseFromString(html, "text/html");
    document.title = page.title;
    document.body.replaceWith(document.adoptNode(page.body));
    if (urgent) {
      var note = document.getElementById("urgent-note");
      if (note) { note.hidden = false; }
      var next = document.getElementById("next-detained");
      if (next) { next.className = "urgent-box"; }
    }
    var h1 = document.querySelector("h1");
    if (h1) { h1.setAttribute("tabindex", "-1"); h1.focus(); }
    window.scrollTo(0, 0);
  }

  function fail(text) {
    sending = false;
    button.disabled = false;
    say("");
    formError(text);
    document.getElementById("form-error").scrollIntoView();
  }

  say(msg("ready"));

  form.addEventListener("submit", function (event) {
    if (form.getAttribute("data-plain") === "1") {
      return; // sealing failed in this browser: the server seals, as without JavaScript
    }
    var files = form.querySelector("input[type=file]");
    if (files && files.files && files.files.length > 0) {
      return; // files go as the form sends them, and the server seals them (docs/threat-model.md)
    }
    event.preventDefault();
    if (sending) { return; }
    clearErrors();
    var errors = validate();
    if (errors.length > 0) {
      var first = null;
      errors.forEach(function (e) { var el = fieldError(e[0], e[1]); first = first || el; });
      first.focus();
      return;
    }
    sending = true;
    button.disabled = true;
    var report = answers();
    var urgent = report.urgent || report.happened === "detained_now";
    var sealed;
    var encrypter;
    try {
      encrypter = new age.Encrypter();
      recipients.forEach(function (r) { encrypter.addRecipient(r); });
    } catch (e) {
      form.setAttribute("data-plain", "1");
      form.submit();
      return;
    }
    say(msg("sealing"));
    encrypter.encrypt(padded(report))
      .then(function (s) { sealed = s; report = null; })
      .catch(function () {
        // This browser cannot seal (no X25519, say): send as without JavaScript.
        form.setAttribute("data-plain", "1");
        form.submit();
        throw null;
      })
      .then(proof)
      .then(function (p) {
        var headers = { "Content-Type": "application/octet-stream" };
        if (p) { headers["Vigil-Proof"] = p; }
        say(msg("sealing"));
        return fetch(data.sealedAction, {
          method: "POST", body: sealed, headers: headers,
          credentials: "omit", cache: "no-store", redirect: "error"
        });
      })
      .then(function (response) {
        if (response.ok) {
          return response.text().then(function (html) { showReceipt(html, urgent); });
        }
        return response.json().then(function (j) {
          fail((j && j.error && j.error.message) || msg("network"));
        }, function () { fail(msg("network")); });
      })
      .catch(function (e) {
        if (e !== null) { fail(msg("network")); }
      });
  });
})();
