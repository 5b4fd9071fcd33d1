/* otklik loader. Finds its own origin, mounts the widget into every [data-otklik-article] element, fills
   every [data-otklik-count] element with the comment count (one request, no wasm), keeps the page's one
   live-update stream, and offers window.otklik.mount(element, options) / unmount(element) to single-page
   apps. */
(function () {
  "use strict";
  if (window.otklik) return;
  var me = document.currentScript;
  var origin = new URL(me && me.src ? me.src : "/", location.href).origin;
  var bundle;

  // The widget bundle, fetched once, only when a page has a widget to show. The wasm is fetched beside the
  // module rather than after it: on a phone network that is a round trip less before the widget draws. A
  // failed load is forgotten, so the next mount tries again.
  function load() {
    if (!bundle) {
      var wasm = fetch(origin + "/assets/__OTKLIK_WASM__");
      wasm.catch(function () {});
      bundle = import(origin + "/assets/__OTKLIK_JS__").then(function (w) {
        return w.default({ module_or_path: wasm }).then(function () {
          // Starting the wasm and drawing the widget are two tasks, not one long one that a phone's
          // reader would feel as a page that ignores a tap.
          return new Promise(function (next) { setTimeout(next, 0); });
        }).then(function () { return w; });
      });
      bundle.catch(function () { bundle = null; });
    }
    return bundle;
  }

  function fail(what) {
    return function (e) { console.error("otklik: " + what, e); };
  }

  var options = { article: "article", lang: "lang", theme: "theme", typoScope: "typo-scope", parts: "parts" };

  // Keeps the widget's first height free while the bundle loads, so the page below does not jump
  // (layout shift). Measured at 18px text: hint + reactions 6em, empty comment thread 24em. A site that
  // sizes the element itself keeps its own value.
  function reserve(el) {
    var parts = el.getAttribute("data-otklik-parts") || "reactions comments typos";
    var em = (/reactions|typos/.test(parts) ? 6 : 0) + (/comments/.test(parts) ? 24 : 0);
    if (/^(auto|0px)$/.test(getComputedStyle(el).minHeight)) el.style.minHeight = em + "em";
  }

  // Starts the widget's first request, its reactions, while the bundle is still on its way, and leaves it
  // on the element for the widget to take (el.otklikReactions). A POST with the reader's token as its
  // text/plain body: a request browsers send without a CORS preflight.
  function prefetch(el) {
    var parts = el.getAttribute("data-otklik-parts") || "reactions";
    if (el.shadowRoot || "otklikReactions" in el || !/reactions/.test(parts)) return;
    var token = "";
    try { token = localStorage.getItem("otklik.reader") || ""; } catch (e) { /* storage blocked */ }
    if (!/^([A-Za-z0-9_-]{22}|[0-9a-fA-F]{32})$/.test(token)) token = "";
    var id = encodeURIComponent(el.getAttribute("data-otklik-article") || "");
    var request = fetch(origin + "/api/v1/articles/" + id + "/reactions/view", { method: "POST", body: token });
    request.catch(function () {});
    el.otklikReactions = request;
  }

  // Live updates: one EventSource for every widget on the page (GET /api/v1/events?articles=…), open only
  // while a widget is on screen and the page is visible, closed live.linger ms after neither is true. The
  // browser reconnects by itself once, at the server's (jittered) retry time and with Last-Event-ID; if
  // that fails too, or the server refused the stream (over its cap), we wait, doubling up to a minute,
  // with jitter, so that a restarted server is not met by every reader at once. Each event goes to the
  // widget (w.live), whose parts derive what they show from it.
  var live = { linger: 60000, state: "closed", received: 0 };
  var hosts = [], shown = [], stream = null, closing = 0, again = 0, failures = 0;
  var watch = window.IntersectionObserver && new IntersectionObserver(function (entries) {
    for (var i = 0; i < entries.length; i++) {
      var el = entries[i].target, at = shown.indexOf(el);
      if (entries[i].isIntersecting && at < 0) shown.push(el);
      if (!entries[i].isIntersecting && at >= 0) shown.splice(at, 1);
    }
    tend();
  });

  function follow(el) {
    if (hosts.indexOf(el) >= 0) return;
    hosts.push(el);
    if (watch) watch.observe(el); else shown.push(el);
    tend();
  }

  function unfollow(el) {
    var at = hosts.indexOf(el);
    if (at >= 0) hosts.splice(at, 1);
    at = shown.indexOf(el);
    if (at >= 0) shown.splice(at, 1);
    if (watch) watch.unobserve(el);
    tend();
  }

  // The articles on the page, each once, at most 20 (the stream's limit), in a stable order. An id the
  // widget refuses (see ArticleId::parse) is left out rather than failing the stream.
  function articles() {
    var ids = [];
    for (var i = 0; i < hosts.length; i++) {
      var id = (hosts[i].getAttribute("data-otklik-article") || "").trim();
      if (/^[\w.:-]{1,128}$/.test(id) && ids.indexOf(id) < 0) ids.push(id);
    }
    return ids.sort().slice(0, 20).map(encodeURIComponent).join(",");
  }

  // Opens, keeps, moves or closes the stream as the page now asks.
  function tend() {
    var ids = articles();
    var wanted = ids && shown.length && document.visibilityState !== "hidden" && window.EventSource;
    if (!ids) return close();
    if (!wanted) {
      if (stream && !closing) closing = setTimeout(close, live.linger);
      return;
    }
    clearTimeout(closing);
    closing = 0;
    if (stream && stream.ids !== ids) close();
    if (!stream && !again) open(ids);
  }

  function open(ids) {
    var es = new EventSource(origin + "/api/v1/events?articles=" + ids);
    es.ids = ids;
    stream = es;
    live.state = "connecting";
    es.onopen = function () { failures = 0; live.state = "open"; };
    es.onerror = function () {
      if (es.readyState !== 2 && ++failures < 2) return;
      close();
      var wait = Math.min(60000, 1000 * Math.pow(2, failures)) * (0.5 + Math.random());
      live.state = "waiting";
      again = setTimeout(function () { again = 0; tend(); }, wait);
    };
    // Each event is flattened for the widget (src/live.rs): the browser parses JSON, wasm need not.
    ["reactions", "comments", "removed"].forEach(function (name, what) {
      es.addEventListener(name, function (e) {
        var d;
        try { d = JSON.parse(e.data); } catch (err) { return; }
        var c = d.counts || {};
        hand(d.article, what, what ? (what < 2 ? [d.total, d.newest == null ? -1 : d.newest] : [d.comment])
          : [c.like, c.laugh, c.surprised, c.angry, c.sad]);
        live.received++;
        if (what < 2) tell(d.article);
      });
    });
    // The server cannot say what was missed: a new stream starts with the present state.
    es.addEventListener("refetch", function () { close(); tend(); });
  }

  function hand(article, what, values) {
    if (bundle) bundle.then(function (w) { w.live(article, what, values); });
  }

  // What a screen reader hears of an article follows its feed at most every 5 s. (No prototype: an
  // article may be called "__proto__".)
  var told = Object.create(null);
  function tell(article) {
    var t = told[article] || (told[article] = { at: 0, due: 0 });
    if (!t.due) t.due = setTimeout(function () {
      t.due = 0;
      t.at = Date.now();
      hand(article, 3, []);
    }, Math.max(0, t.at + 5000 - Date.now()));
  }

  function close() {
    clearTimeout(closing);
    closing = 0;
    if (stream) stream.close();
    stream = null;
    if (!again) live.state = "closed";
  }

  document.addEventListener("visibilitychange", tend);

  function mount(el, opts) {
    for (var key in options) {
      if (opts && opts[key] != null) el.setAttribute("data-otklik-" + options[key], opts[key]);
    }
    reserve(el);
    prefetch(el);
    return load().then(function (w) { w.mount(el, origin); follow(el); });
  }

  function unmount(el) {
    unfollow(el);
    return bundle ? bundle.then(function (w) { w.unmount(el); }) : Promise.resolve();
  }

  // "5 комментариев" in the page's language, for article lists.
  function counts() {
    var els = document.querySelectorAll("[data-otklik-count]");
    var ids = [];
    for (var i = 0; i < els.length; i++) {
      var id = els[i].getAttribute("data-otklik-count");
      if (ids.indexOf(id) < 0) ids.push(id);
    }
    if (!ids.length) return;
    var ru = /^ru/i.test(document.documentElement.lang || navigator.language);
    var lang = ru ? "ru" : "en";
    var rules = new Intl.PluralRules(lang), number = new Intl.NumberFormat(lang);
    var words = ru
      ? { one: "комментарий", few: "комментария", many: "комментариев", other: "комментария" }
      : { one: "comment", other: "comments" };
    for (var at = 0; at < ids.length; at += 100) {
      var batch = ids.slice(at, at + 100);
      fetch(origin + "/api/v1/counts?articles=" + batch.map(encodeURIComponent).join(","))
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (body) {
          for (var i = 0; i < els.length; i++) {
            var n = body.counts[els[i].getAttribute("data-otklik-count")];
            if (n != null) els[i].textContent = number.format(n) + " " + (words[rules.select(n)] || words.other);
          }
        })
        .catch(fail("comment counts could not be loaded"));
    }
  }

  window.otklik = { mount: mount, unmount: unmount, live: live };

  function start() {
    var found = document.querySelectorAll("[data-otklik-article]");
    if (found.length) {
      for (var i = 0; i < found.length; i++) {
        reserve(found[i]);
        prefetch(found[i]);
      }
      load().then(function (w) {
        w.mount_all(origin);
        for (var i = 0; i < found.length; i++) follow(found[i]);
      }).catch(fail("the widget could not be loaded"));
    }
    counts();
  }
  if (document.readyState === "loading") {
    // A widget already parsed need not wait for the rest of the page before its bundle starts loading.
    var parsed = document.querySelectorAll("[data-otklik-article]");
    for (var i = 0; i < parsed.length; i++) prefetch(parsed[i]);
    if (parsed.length) load().catch(fail("the widget could not be loaded"));
    document.addEventListener("DOMContentLoaded", start);
  } else start();
})();
