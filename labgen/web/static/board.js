// Board: poll the rows every 2 s and update the table in place (no reload).
(function () {
  var table = document.getElementById("board");
  var states = JSON.parse(table.dataset.states);
  var ago = table.dataset.ago;
  var url = window.location.pathname.replace(/\/$/, "") + "/rows.json";
  document.querySelectorAll("form.confirm-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
  function clock(seconds) {
    if (seconds === null || seconds === undefined) { return "-"; }
    var s = Math.floor(seconds);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function set(row, cls, text) { row.querySelector("td." + cls).textContent = text; }
  function update(rows) {
    rows.forEach(function (r) {
      var row = document.getElementById("row-" + r.seat);
      if (!row) { return; }
      row.className = "state-" + r.state;
      var step = row.querySelector("td.step");
      step.textContent = r.step_title + " ";
      step.dataset.step = r.step;
      step.title = r.step;
      var badge = document.createElement("span");
      badge.className = "state";
      badge.textContent = "(" + (states[r.state] || r.state) + ")";
      step.appendChild(badge);
      set(row, "tasks", r.tasks);
      set(row, "checks", r.passed + "/" + r.attempts);
      set(row, "hints", String(r.hints));
      set(row, "time", clock(r.seconds));
      set(row, "last", r.ago === undefined ? "-" : r.ago + " " + ago);
      set(row, "nodes", r.nodes_up);
      row.classList.toggle("stuck", !!r.stuck);
      row.querySelector(".stuck-flag").hidden = !r.stuck;
      row.querySelector("a.watch").hidden = !r.consent;
    });
  }
  function poll() {
    fetch(url, {credentials: "same-origin", cache: "no-store"})
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) { if (data) { update(data.rows); } })
      .catch(function () {})
      .finally(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
