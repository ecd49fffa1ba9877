// Terminals: one xterm.js per node tab, each joined to its node over a websocket. Opened on
// first view of a tab; the shell lives on the node (tmux), so a reload re-attaches to it.
// Keystrokes go as binary frames (UTF-8), resizes as {"resize": [cols, rows]}.
(function () {
  var screens = document.getElementById("screens");
  if (!screens || !window.Terminal || !window.FitAddon) { return; }
  var base = screens.dataset.ws;
  var readOnly = screens.dataset.readonly === "1";
  var encoder = new TextEncoder();
  var open = {};

  function start(node) {
    var el = document.getElementById("term-" + node);
    var term = new window.Terminal({cursorBlink: !readOnly, disableStdin: readOnly, scrollback: 5000,
      fontFamily: '"DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace', fontSize: 14});
    var fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(el);
    fit.fit();
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(scheme + "//" + window.location.host + base + encodeURIComponent(node) +
                           "?cols=" + term.cols + "&rows=" + term.rows);
    ws.binaryType = "arraybuffer";
    var early = [];     // keys typed before the socket opened (bounded), sent once it is
    ws.onopen = function () {
      el.dataset.state = "open";
      early.forEach(function (bytes) { ws.send(bytes); });
      early = [];
    };
    ws.onmessage = function (event) {
      term.write(typeof event.data === "string" ? event.data : new Uint8Array(event.data));
    };
    ws.onclose = function () {
      el.dataset.state = "closed";
      term.write("\r\n" + screens.dataset.closed + "\r\n");
    };
    if (!readOnly) {
      term.onData(function (data) {
        if (ws.readyState === 1) { ws.send(encoder.encode(data)); }
        else if (ws.readyState === 0 && early.length < 256) { early.push(encoder.encode(data)); }
      });
    }
    term.onResize(function (size) {
      if (ws.readyState === 1) { ws.send(JSON.stringify({resize: [size.cols, size.rows]})); }
    });
    open[node] = {term: term, fit: fit, ws: ws};
  }

  function show(node) {
    screens.querySelectorAll(".screen").forEach(function (el) { el.hidden = el.dataset.node !== node; });
    document.querySelectorAll(".tab").forEach(function (tab) {
      tab.classList.toggle("active", tab.dataset.node === node);
      tab.setAttribute("aria-selected", tab.dataset.node === node ? "true" : "false");
    });
    if (!open[node]) { start(node); } else { open[node].fit.fit(); }
    open[node].term.focus();
  }

  document.querySelectorAll(".tab").forEach(function (tab) {
    tab.addEventListener("click", function () { show(tab.dataset.node); });
  });
  window.addEventListener("resize", function () {
    Object.keys(open).forEach(function (node) {
      if (!document.getElementById("term-" + node).hidden) { open[node].fit.fit(); }
    });
  });
  // What a terminal shows, as text (the whole buffer): for tests and screen readers' helpers.
  window.labgenScreen = function (node) {
    var t = open[node] && open[node].term;
    if (!t) { return ""; }
    var buffer = t.buffer.active, lines = [];
    for (var i = 0; i < buffer.length; i++) { lines.push(buffer.getLine(i).translateToString(true)); }
    return lines.join("\n");
  };
  window.labgenTerminalBuffer = function (node) { return open[node] && open[node].term.buffer.active; };
  var first = document.querySelector(".tab");
  if (first) { show(first.dataset.node); }
})();
