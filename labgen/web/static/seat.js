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
