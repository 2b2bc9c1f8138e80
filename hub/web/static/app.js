// HEROES Hub web app: live updates over server-sent events, no framework, no build step.
(function () {
  "use strict";
  var page = document.body.dataset.page;

  function fragmentUrl() {
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    url.searchParams.delete("sent");
    return url;
  }

  function liveLedger(target, apply) {
    var source = new EventSource("/events?stream=ledger");
    source.addEventListener("ledger", function () {
      fetch(fragmentUrl(), { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html !== null) apply(target, html);
      });
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  if (page === "monitor") {
    var state = document.getElementById("live-state");
    var source = new EventSource("/events?stream=monitor");
    source.onopen = function () { state.textContent = "live"; };
    source.onerror = function () { state.textContent = "reconnecting…"; };
    source.addEventListener("monitor", function (event) {
      var data = JSON.parse(event.data);
      Object.keys(data.sections).forEach(function (key) {
        var el = document.getElementById("sec-" + key);
        if (el) el.innerHTML = data.sections[key];
      });
      state.textContent = "live · updated " + new Date().toLocaleTimeString();
      state.dataset.version = data.version;
    });
    source.addEventListener("ops", function (event) {
      document.getElementById("sec-ops").innerHTML = JSON.parse(event.data).html;
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  if (page === "inbox") {
    liveLedger(document.getElementById("inbox-table"), function (target, html) {
      var chosen = {};
      target.querySelectorAll("input[name=items]:checked").forEach(function (i) { chosen[i.value] = true; });
      target.innerHTML = html;
      target.querySelectorAll("input[name=items]").forEach(function (i) { if (chosen[i.value]) i.checked = true; });
    });
  }

  if (page === "decision") {
    liveLedger(document.getElementById("decision-body"), function (target, html) {
      var reason = target.querySelector("textarea");
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var now = target.querySelector("article"), next = holder.querySelector("article");
      if (!next || (now && now.dataset.decision === next.dataset.decision && now.dataset.pending === next.dataset.pending)) return;
      if (reason && reason.value.trim()) {
        if (!document.getElementById("changed-note")) {
          var note = document.createElement("p");
          note.id = "changed-note";
          note.className = "notice";
          note.textContent = "This decision has changed in the ledger since you opened it. Reload to see the new version.";
          target.prepend(note);
        }
        return;
      }
      target.innerHTML = html;
    });
  }
})();
