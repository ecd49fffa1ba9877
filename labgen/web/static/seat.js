// Seat page: confirm "give up", and show that a check is running (it takes a few seconds).
document.querySelectorAll("form.confirm-form").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  });
});
document.querySelectorAll("form.busy-form").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (event.defaultPrevented) { return; }
    var button = form.querySelector("button[data-busy]");
    if (button) { button.textContent = button.dataset.busy; button.disabled = true; }
  });
});

// Live news without a reload: the instructor's messages and hints, and whether someone watches.
(function () {
  var live = document.getElementById("live");
  if (!live) { return; }
  var url = window.location.pathname.replace(/\/$/, "") + "/live.json";
  var seen = {};
  function update(data) {
    document.getElementById("watched").hidden = !data.watched;
    var list = document.getElementById("inbox-list");
    data.messages.forEach(function (m) {
      if (seen[m.id]) { return; }
      seen[m.id] = true;
      var item = document.createElement("li");
      item.className = "msg-" + m.kind;
      item.textContent = m.text;
      list.insertBefore(item, list.firstChild);
    });
    document.getElementById("inbox").hidden = data.messages.length === 0;
  }
  function poll() {
    fetch(url, {credentials: "same-origin", cache: "no-store"})
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) { if (data) { update(data); } })
      .catch(function () {})
      .finally(function () { window.setTimeout(poll, 1000); });
  }
  poll();
})();
