// Consequential buttons ask first: a form or its submit button with data-confirm="…" shows the message
// and submits only when the user agrees. Without this script the form simply submits.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
