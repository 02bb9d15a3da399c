// Confirm destructive actions: a submit button with data-confirm asks first. Runs in the
// capture phase, before htmx's boosted submit, so a refused confirm sends nothing.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var question = button && button.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
