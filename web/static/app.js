// signupflow hosted pages: shared behaviour. No inline scripts (the CSP forbids them).
// Moves the focus to the first invalid field, or to a page-level error message.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var bad = document.querySelector("[aria-invalid=true]");
    if (bad) {
      bad.focus();
      return;
    }
    var err = document.querySelector("[data-error]");
    if (err) {
      err.setAttribute("tabindex", "-1");
      err.focus();
    }
  });
})();
