/* Solves the sign form's proof-of-work challenge (ALTCHA v1) in the background.
 *
 * The server renders the challenge into the widget's data-challenge attribute. Solving means
 * finding the number n (0..maxNumber) with SHA-256(salt + n) == challenge; the result goes
 * into the hidden "altcha" input as base64 JSON {algorithm, challenge, number, salt,
 * signature}. Work starts when the person starts filling in the form, so it is usually done
 * before they press Sign; if not, the submission waits for it.
 *
 * Progressive enhancement: without this file (or without crypto.subtle, which needs HTTPS or
 * localhost) the form's wait token is the check, and this file only waits out its few
 * seconds before sending. The page may include this script once per petition: each widget is
 * set up once.
 */
(function () {
  "use strict";

  var BATCH = 500;

  function hexToBytes(hex) {
    var bytes = new Uint8Array(hex.length / 2);
    for (var i = 0; i < bytes.length; i += 1) {
      bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
    }
    return bytes;
  }

  function sameBytes(buffer, expected) {
    var actual = new Uint8Array(buffer);
    if (actual.length !== expected.length) { return false; }
    for (var i = 0; i < actual.length; i += 1) {
      if (actual[i] !== expected[i]) { return false; }
    }
    return true;
  }

  /* Resolves with the number, or null if none up to maxNumber fits. Hashes go in batches:
     crypto.subtle works off the main thread, so the page stays responsive meanwhile. */
  function solve(challenge, onProgress) {
    var encoder = new TextEncoder();
    var target = hexToBytes(challenge.challenge);
    var max = challenge.maxNumber;
    function batchFrom(start) {
      if (start > max) { return Promise.resolve(null); }
      var end = Math.min(start + BATCH - 1, max);
      var digests = [];
      for (var n = start; n <= end; n += 1) {
        digests.push(crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n)));
      }
      return Promise.all(digests).then(function (hashes) {
        for (var i = 0; i < hashes.length; i += 1) {
          if (sameBytes(hashes[i], target)) { return start + i; }
        }
        onProgress(end / max);
        return batchFrom(end + 1);
      });
    }
    return batchFrom(0);
  }

  function payloadFor(challenge, number) {
    return window.btoa(JSON.stringify({
      algorithm: challenge.algorithm,
      challenge: challenge.challenge,
      number: number,
      salt: challenge.salt,
      signature: challenge.signature
    }));
  }

  function setUp(widget) {
    var form = widget.closest("form");
    var input = widget.querySelector("[data-challenge-payload]");
    var status = widget.querySelector("[data-challenge-status]");
    if (!form || !input || !status) { return; }
    var challenge;
    try {
      challenge = JSON.parse(widget.getAttribute("data-challenge"));
    } catch (error) {
      return;
    }
    var loadedAt = Date.now();
    var waitMs = (parseInt(widget.getAttribute("data-wait-seconds"), 10) || 0) * 1000 + 500;
    var working = null;
    var sending = false;
    var lastStep = -1;

    function say(text) { status.textContent = text; }

    function progress(fraction) {
      // Quarter steps: a live region that changes every batch would flood a screen reader.
      var step = Math.floor(fraction * 4);
      if (step === lastStep || sending) { return; }
      lastStep = step;
      say(widget.getAttribute("data-text-working") + " " + step * 25 + "%");
    }

    // Resolves true with the payload in place, false if this browser cannot do the work.
    function start() {
      if (working) { return working; }
      if (!window.crypto || !crypto.subtle || !window.TextEncoder || !window.Promise) {
        working = Promise.resolve(false);
        return working;
      }
      progress(0);
      working = solve(challenge, progress).then(function (number) {
        if (number === null) { return false; }
        input.value = payloadFor(challenge, number);
        if (!sending) { say(widget.getAttribute("data-text-done")); }
        return true;
      }, function () { return false; });
      return working;
    }

    function send() {
      form.submit();  // submit() skips the submit event: no loop back into this handler
    }

    form.addEventListener("focusin", start);
    form.addEventListener("input", start);
    form.addEventListener("submit", function (event) {
      if (input.value) { return; }
      event.preventDefault();
      if (sending) { return; }  // pressed again while waiting: one submission is on its way
      sending = true;
      say(widget.getAttribute("data-text-finishing"));
      start().then(function (solved) {
        if (solved) { send(); return; }
        // No solution: the wait token decides, and it must be old enough first.
        var left = loadedAt + waitMs - Date.now();
        if (left > 0) { say(widget.getAttribute("data-text-waiting")); }
        window.setTimeout(send, Math.max(0, left));
      });
    });
    // A form shown again (after an error) is already filled in: start at once.
    var email = form.querySelector("input[type=email]");
    if (email && email.value) { start(); }
  }

  function setUpAll() {
    document.querySelectorAll("[data-challenge]").forEach(function (widget) {
      if (widget.hasAttribute("data-challenge-ready")) { return; }
      widget.setAttribute("data-challenge-ready", "");
      setUp(widget);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
