/* otklik loader: finds its own origin, loads the widget bundle from it and mounts every [data-otklik-article]. */
(function () {
  var me = document.currentScript;
  var origin = new URL(me && me.src ? me.src : "/", location.href).origin;
  import(origin + "/assets/__OTKLIK_JS__")
    .then(function (w) {
      return w.default({ module_or_path: origin + "/assets/__OTKLIK_WASM__" }).then(function () {
        w.mount_all(origin);
      });
    })
    .catch(function (e) {
      console.error("otklik: the widget could not be loaded", e);
    });
})();
