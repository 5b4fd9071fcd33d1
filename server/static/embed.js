/* otklik loader. Finds its own origin, mounts the widget into every [data-otklik-article] element, fills
   every [data-otklik-count] element with the comment count (one request, no wasm), and offers
   window.otklik.mount(element, options) / unmount(element) to single-page apps. */
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

  function mount(el, opts) {
    for (var key in options) {
      if (opts && opts[key] != null) el.setAttribute("data-otklik-" + options[key], opts[key]);
    }
    reserve(el);
    prefetch(el);
    return load().then(function (w) { w.mount(el, origin); });
  }

  function unmount(el) {
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

  window.otklik = { mount: mount, unmount: unmount };

  function start() {
    var hosts = document.querySelectorAll("[data-otklik-article]");
    if (hosts.length) {
      for (var i = 0; i < hosts.length; i++) {
        reserve(hosts[i]);
        prefetch(hosts[i]);
      }
      load().then(function (w) { w.mount_all(origin); }).catch(fail("the widget could not be loaded"));
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
