// sipswitch console: live updates and confirmations. Pages work without it.
(function () {
  "use strict";
  // Reload the element marked data-live from the same URL when the event
  // stream says something changed (debounced), or every data-poll ms.
  function reload(el) {
    fetch(location.href, { credentials: "same-origin", headers: { "X-Fragment": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(el.id);
        if (fresh) { el.replaceWith(fresh); bindConfirm(fresh); }
      });
  }
  function bindConfirm(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
  }
  bindConfirm(document);
  var live = document.querySelector("[data-live]");
  if (live && window.EventSource) {
    var timer = null;
    var status = document.getElementById("live-status");
    var es = new EventSource(live.getAttribute("data-live"));
    var kick = function () {
      if (timer) return;
      timer = setTimeout(function () { timer = null; reload(document.getElementById(live.id)); }, 250);
    };
    ["call_start", "call_update", "call_end", "registered", "unregistered", "resync"].forEach(function (k) {
      es.addEventListener(k, kick);
    });
    es.onopen = function () { if (status) status.textContent = "live"; kick(); };
    es.onerror = function () { if (status) status.textContent = "reconnecting…"; };
  }
  var poll = document.querySelector("[data-poll]");
  if (poll) {
    setInterval(function () { reload(document.getElementById(poll.id)); }, +poll.getAttribute("data-poll"));
  }
})();
