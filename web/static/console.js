// signupflow reviewer console: keeps the inbox table current without a reload. It asks
// /console/inbox.json (same filters and page) every few seconds and rebuilds the rows with
// textContent only, so every value stays text. No inline scripts (the CSP forbids them).
(function () {
  "use strict";

  function cell(cls, text) {
    var td = document.createElement("td");
    td.className = cls;
    td.textContent = text || "";
    return td;
  }

  function row(it, isNew) {
    var tr = document.createElement("tr");
    tr.className = isNew ? "request new" : "request";
    tr.setAttribute("data-id", it.id);
    var email = document.createElement("td");
    email.className = "email";
    var a = document.createElement("a");
    a.href = "/console/requests/" + encodeURIComponent(it.id);
    a.textContent = it.email || "";
    email.appendChild(a);
    tr.appendChild(email);
    tr.appendChild(cell("name", it.displayName));
    var flow = cell("flow", it.flow);
    if (it.appName) {
      var app = document.createElement("span");
      app.className = "muted";
      app.textContent = "(" + it.appName + ")";
      flow.appendChild(document.createTextNode(" "));
      flow.appendChild(app);
    }
    tr.appendChild(flow);
    tr.appendChild(cell("stage", it.stage));
    tr.appendChild(cell("age", it.age));
    return tr;
  }

  function start(table) {
    var url = table.getAttribute("data-poll");
    var body = table.tBodies[0];
    var empty = document.getElementById("inbox-empty");
    var next = document.getElementById("next-page");
    if (!url || !body) { return; }
    var delay = 5000;
    // Rows that were not on the page when it loaded are marked "new" (highlighted).
    var known = {};
    Array.prototype.forEach.call(body.rows, function (tr) { known[tr.getAttribute("data-id")] = true; });

    function update(v) {
      var frag = document.createDocumentFragment();
      (v.items || []).forEach(function (it) {
        if (it && typeof it.id === "string") { frag.appendChild(row(it, !known[it.id])); }
      });
      while (body.firstChild) { body.removeChild(body.firstChild); }
      body.appendChild(frag);
      if (empty) { empty.classList.toggle("hidden", body.rows.length > 0); }
      if (next) {
        var ok = typeof v.next === "string" && v.next.indexOf("/console?") === 0;
        next.classList.toggle("hidden", !ok);
        next.setAttribute("href", ok ? v.next : "#");
      }
    }

    function schedule() { window.setTimeout(check, delay); }

    function check() {
      if (document.hidden) { schedule(); return; }
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (r) {
          if (r.status === 401) { window.location.reload(); throw new Error("signed out"); }
          if (!r.ok) { throw new Error("status " + r.status); }
          return r.json();
        })
        .then(function (v) { update(v); delay = 5000; schedule(); })
        .catch(function () { delay = Math.min(delay * 2, 60000); schedule(); });
    }
    schedule();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var t = document.getElementById("inbox");
    if (t) { start(t); }
  });
})();
