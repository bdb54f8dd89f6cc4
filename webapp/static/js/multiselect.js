// A long <select multiple data-multi-select> becomes a filter box over a list of checkboxes: type to
// narrow the list, tick to choose. The select stays in the form (hidden) and is what posts; without
// this script it is the plain select.
(function () {
  "use strict";

  document.querySelectorAll("select[multiple][data-multi-select]").forEach(function (select) {
    var base = select.id || select.name;
    var wrapper = document.createElement("div");
    wrapper.className = "multi-select";
    wrapper.setAttribute("data-testid", "multi-select");

    var filter = document.createElement("input");
    filter.type = "search";
    filter.id = base + "-filter";
    filter.className = "form-control form-control-sm mb-1";
    filter.placeholder = select.getAttribute("data-filter-placeholder") || "";
    filter.setAttribute("autocomplete", "off");
    filter.setAttribute("data-testid", "multi-select-filter");

    var chosen = document.createElement("div");
    chosen.className = "small text-body-secondary mb-1";
    chosen.setAttribute("aria-live", "polite");
    chosen.setAttribute("data-testid", "multi-select-count");

    var list = document.createElement("div");
    list.className = "multi-select-list border rounded px-2 py-1";
    list.setAttribute("role", "group");

    var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
    if (label) {
      label.htmlFor = filter.id;  // the label names the filter box, and the list beside it
      if (!label.id) label.id = base + "-label";
      list.setAttribute("aria-labelledby", label.id);
    }

    var items = [];
    function update() {
      var n = Array.prototype.filter.call(select.options, function (o) { return o.selected; }).length;
      chosen.textContent = (select.getAttribute("data-chosen-label") || "{n}").replace("{n}", String(n));
    }
    Array.prototype.forEach.call(select.options, function (option, n) {
      var item = document.createElement("div");
      item.className = "form-check";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.className = "form-check-input";
      box.id = base + "-option-" + n;
      box.checked = option.selected;
      box.value = option.value;
      var text = document.createElement("label");
      text.className = "form-check-label";
      text.htmlFor = box.id;
      text.textContent = option.text;
      box.addEventListener("change", function () {
        option.selected = box.checked;
        select.dispatchEvent(new Event("change", { bubbles: true }));
        update();
      });
      item.appendChild(box);
      item.appendChild(text);
      list.appendChild(item);
      items.push({ element: item, text: (option.text + " " + option.value).toLowerCase() });
    });

    filter.addEventListener("input", function () {
      var needle = filter.value.trim().toLowerCase();
      items.forEach(function (item) { item.element.hidden = needle !== "" && item.text.indexOf(needle) < 0; });
    });
    // Enter in the filter box narrows the list; it never submits the form
    filter.addEventListener("keydown", function (event) { if (event.key === "Enter") event.preventDefault(); });

    wrapper.appendChild(filter);
    wrapper.appendChild(chosen);
    wrapper.appendChild(list);
    select.hidden = true;  // still in the form: it posts what the boxes chose
    select.parentNode.insertBefore(wrapper, select.nextSibling);
    update();
  });
})();
