// posnode explorer. Ticks the ages on the page every second and, on a page whose main part has data-live, follows
// GET /api/events: a head, reorg or finality event fetches the main part again and swaps it in, at most once a
// second however short the slots, and not while the page is hidden (it catches up when shown again).
(function () {
  "use strict";

  function fmtAge(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 120) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 120) return m + " min";
    return Math.floor(m / 60) + " h";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var t = Number(el.getAttribute("data-since"));
      if (t > 0) el.textContent = fmtAge(now - t);
    });
  }
  tick();
  setInterval(tick, 1000);

  var main = document.getElementById("main");
  var part = main && main.getAttribute("data-live");
  if (!part || !window.EventSource) return;
  var live = document.getElementById("live");
  function say(text, cls) {
    if (live) {
      live.textContent = text;
      live.className = cls;
    }
  }

  var busy = false, again = false, stale = false, last = 0, timer = null;
  function request() {
    if (document.hidden) {
      stale = true;
      return;
    }
    if (timer) return;
    timer = setTimeout(function () {
      timer = null;
      redraw();
    }, Math.max(0, last + 1000 - Date.now()));
  }
  function redraw() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    last = Date.now();
    fetch(part, { cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        return r.text();
      })
      .then(function (html) {
        main.innerHTML = html;
        tick();
        say("live", "ok");
      })
      .catch(function () {
        say("update failed; retrying on the next event", "warn");
      })
      .finally(function () {
        busy = false;
        if (again) {
          again = false;
          request();
        }
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && stale) {
      stale = false;
      request();
    }
  });

  var events = new EventSource("/api/events");
  events.onopen = function () {
    say("live", "ok");
    request();
  };
  events.onerror = function () {
    say("reconnecting…", "warn");
  };
  ["head", "reorg", "finality"].forEach(function (kind) {
    events.addEventListener(kind, request);
  });
})();
