// The inbox: a changed filter applies at once (the Filter button stays for keyboard and no-script use).
(function () {
  "use strict";
  var form = document.getElementById("inbox-filters");
  if (!form) return;
  form.querySelectorAll("select").forEach(function (select) {
    select.addEventListener("change", function () {
      if (form.requestSubmit) form.requestSubmit();
      else form.submit();
    });
  });
})();
