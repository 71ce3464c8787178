// signupflow applicant pages: resend countdown, status polling on the pending page, and the
// automatic return to the application on the completed page. Driven by data- attributes; the
// server enforces every limit, this only shows them.
(function () {
  "use strict";

  // <span data-countdown="N" data-template="... {s} ..." data-button="id">: counts N down to 0,
  // keeping the button disabled until then.
  function countdown(el) {
    var left = parseInt(el.getAttribute("data-countdown"), 10) || 0;
    var tpl = el.getAttribute("data-template") || "{s}";
    var btn = document.getElementById(el.getAttribute("data-button") || "");
    function tick() {
      if (left <= 0) {
        el.textContent = "";
        el.classList.add("hidden");
        if (btn) { btn.disabled = false; }
        return;
      }
      el.classList.remove("hidden");
      el.textContent = tpl.replace("{s}", String(left));
      if (btn) { btn.disabled = true; }
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  // <p data-poll="/signup/status" data-status="PendingApproval">: asks for the status every few
  // seconds and moves to the next page once it changed. data-poll-until (unix seconds): the page of a
  // sign-in request stops then and reloads once, to say what happens next.
  function poll(el) {
    var url = el.getAttribute("data-poll");
    var current = el.getAttribute("data-status");
    var until = (parseInt(el.getAttribute("data-poll-until"), 10) || 0) * 1000;
    var delay = 2000;
    function schedule() {
      if (until && Date.now() + delay >= until) {
        window.setTimeout(function () { window.location.replace(window.location.href); }, Math.max(0, until - Date.now()) + 1000);
        return;
      }
      window.setTimeout(check, delay);
      delay = Math.min(Math.round(delay * 1.2), 5000);
    }
    function check() {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (r) {
          if (!r.ok) { throw new Error("status " + r.status); }
          return r.json();
        })
        .then(function (v) {
          if (v && v.status && v.status !== current) {
            var next = typeof v.next === "string" && v.next.charAt(0) === "/" && v.next.charAt(1) !== "/" ? v.next : "/signup/result";
            window.location.replace(next);
            return;
          }
          schedule();
        })
        .catch(schedule);
    }
    schedule();
  }

  // <a href="..." data-auto-redirect="ms">: follows the link by itself after ms.
  function autoRedirect(el) {
    var ms = parseInt(el.getAttribute("data-auto-redirect"), 10) || 0;
    window.setTimeout(function () { window.location.assign(el.href); }, ms);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-countdown]"), countdown);
    Array.prototype.forEach.call(document.querySelectorAll("[data-poll]"), poll);
    Array.prototype.forEach.call(document.querySelectorAll("[data-auto-redirect]"), autoRedirect);
  });
})();
