// The task page: unsaved-changes warning, grid totals as you type, keyboard moves between rows,
// range hints on scores. The server stays the authority: nothing here blocks a submission.
(function () {
  "use strict";

  var form = document.getElementById("task-form");
  if (!form) return;

  // ---------------------------------------------------------------- unsaved changes
  var dirty = false;
  var indicator = document.querySelector("[data-testid=dirty-indicator]");
  function setDirty(value) {
    dirty = value;
    if (indicator) indicator.hidden = !value;
  }
  if (form.hasAttribute("data-track-changes")) {
    form.addEventListener("input", function () { setDirty(true); });
    form.addEventListener("change", function () { setDirty(true); });
    // Saving a draft or submitting sends everything: nothing is lost by leaving.
    form.addEventListener("submit", function (event) {
      // a second click while the first submission is on its way would only meet "no longer waiting"
      if (form.dataset.submitting) { event.preventDefault(); return; }
      form.dataset.submitting = "true";
      setDirty(false);
    });
    // coming back with the browser's back button shows the page from its cache: let it submit again
    window.addEventListener("pageshow", function () { delete form.dataset.submitting; });
    window.addEventListener("beforeunload", function (event) {
      if (!dirty) return undefined;
      event.preventDefault();
      event.returnValue = "";
      return "";
    });
  }

  // ---------------------------------------------------------------- numbers
  function parse(text) {
    var value = String(text || "").trim();
    if (!/^-?\d+(\.\d+)?$/.test(value)) return null;
    return Number(value);
  }
  function show(value) {
    // Two decimals at most, without trailing zeros: 40, 7.5, 12.25.
    var rounded = Math.round(value * 100) / 100;
    return String(rounded);
  }

  // ---------------------------------------------------------------- grids
  document.querySelectorAll("[data-grid]").forEach(function (grid) {
    var scores = Array.prototype.slice.call(grid.querySelectorAll("[data-grid-score]"));
    var progress = Array.prototype.slice.call(grid.querySelectorAll("[data-grid-progress]"));
    var rangeMessage = grid.getAttribute("data-range-message") || "";
    var overMessage = grid.getAttribute("data-over-message") || "";

    // A total above its maximum (100018.35 / 238) is marked and says so.
    function setTotal(cell, value) {
      cell.textContent = show(value);
      var max = parse(cell.getAttribute("data-max"));
      var over = max !== null && value > max + 1e-9;
      cell.classList.toggle("is-over", over);
      if (over) cell.setAttribute("title", overMessage.replace("{max}", show(max)));
      else cell.removeAttribute("title");
    }

    function totalCell(kind, key) {
      var attr = kind === "city" ? "data-city" : "data-dimension";
      var cells = grid.querySelectorAll("[data-total-of=" + kind + "]");
      for (var i = 0; i < cells.length; i++) {
        if (cells[i].getAttribute(attr) === key) return cells[i];
      }
      return null;
    }

    function recompute() {
      var byCity = {};
      var byDimension = {};
      scores.forEach(function (input) {
        var value = parse(input.value) || 0;
        var city = input.getAttribute("data-city");
        var dimension = input.getAttribute("data-dimension");
        byCity[city] = (byCity[city] || 0) + value;
        byDimension[dimension] = (byDimension[dimension] || 0) + value;
      });
      Object.keys(byCity).forEach(function (city) {
        var cell = totalCell("city", city);
        if (cell) setTotal(cell, byCity[city]);
      });
      Object.keys(byDimension).forEach(function (dimension) {
        var cell = totalCell("dimension", dimension);
        if (cell && cell.hasAttribute("data-testid") && cell.getAttribute("data-testid") === "grid-total") {
          setTotal(cell, byDimension[dimension]);
        }
      });
      var filled = {};
      progress.forEach(function (input) {
        var dimension = input.getAttribute("data-dimension");
        filled[dimension] = (filled[dimension] || 0) + (input.value.trim() ? 1 : 0);
      });
      Object.keys(filled).forEach(function (dimension) {
        var cell = totalCell("dimension", dimension);
        if (cell && cell.getAttribute("data-testid") === "grid-progress") cell.textContent = String(filled[dimension]);
      });
    }

    function hint(input) {
      var cell = input.closest("td");
      var box = cell ? cell.querySelector("[data-grid-hint]") : null;
      if (!box) return;
      var min = parse(input.getAttribute("min"));
      var max = parse(input.getAttribute("max"));
      var value = parse(input.value);
      var raw = input.value.trim();
      // A number input reports text it cannot read as empty but invalid (badInput).
      var unreadable = (input.validity && input.validity.badInput) || (raw !== "" && value === null);
      var outside = value !== null && ((min !== null && value < min) || (max !== null && value > max));
      var wrong = unreadable || outside;
      box.hidden = !wrong;
      box.textContent = wrong ? rangeMessage.replace("{min}", show(min || 0)).replace("{max}", show(max || 0)) : "";
      input.classList.toggle("is-warning", wrong);
      if (wrong) input.setAttribute("aria-invalid", "true");
      else if (!input.classList.contains("is-invalid")) input.removeAttribute("aria-invalid");
    }

    grid.addEventListener("input", function (event) {
      var target = event.target;
      if (target.hasAttribute("data-grid-score")) hint(target);
      if (target.hasAttribute("data-grid-score") || target.hasAttribute("data-grid-progress")) recompute();
    });
    recompute();  // the warnings of what the page was rendered with
    // A wheel over a focused number input would change the score silently.
    scores.forEach(function (input) {
      input.addEventListener("wheel", function () { if (document.activeElement === input) input.blur(); }, { passive: true });
    });
  });

  // ---------------------------------------------------------------- keyboard between rows
  function columnOf(control) {
    return control.getAttribute("data-grid-col");
  }
  function neighbour(control, step) {
    var table = control.closest("[data-grid-table]");
    if (!table) return null;
    var col = columnOf(control);
    var all = Array.prototype.slice.call(table.querySelectorAll("[data-grid-col]")).filter(function (c) {
      return columnOf(c) === col && !c.disabled;
    });
    var index = all.indexOf(control);
    return index < 0 ? null : all[index + step] || null;
  }
  function caretAtEdge(control, atEnd) {
    if (typeof control.selectionStart !== "number") return true;
    if (control.selectionStart !== control.selectionEnd) return false;
    return atEnd ? control.selectionEnd === control.value.length : control.selectionStart === 0;
  }

  form.addEventListener("keydown", function (event) {
    var control = event.target;
    if (!control.hasAttribute || !control.hasAttribute("data-grid-col")) return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
    var multiline = control.tagName === "TEXTAREA";
    var isSelect = control.tagName === "SELECT";
    var step = 0;
    if (event.key === "Enter" && !multiline && !isSelect && !event.shiftKey) step = 1;
    else if (event.key === "Enter" && !multiline && !isSelect && event.shiftKey) step = -1;
    else if (event.key === "ArrowDown" && !isSelect && (!multiline || caretAtEdge(control, true))) step = 1;
    else if (event.key === "ArrowUp" && !isSelect && (!multiline || caretAtEdge(control, false))) step = -1;
    if (!step) return;
    var next = neighbour(control, step);
    // Enter never submits the whole task from inside a grid, even on the last row.
    if (event.key === "Enter") event.preventDefault();
    if (!next) return;
    event.preventDefault();
    next.focus();
    if (typeof next.select === "function" && next.tagName === "INPUT") next.select();
  });

  // ---------------------------------------------------------------- the totals bar never covers the active row
  form.addEventListener("focusin", function (event) {
    var control = event.target;
    if (!control.hasAttribute || !control.hasAttribute("data-grid-col")) return;
    if (control.tagName === "TEXTAREA") control.classList.add("is-opened");  // see app.css
    var grid = control.closest("[data-grid]");
    var bar = grid ? grid.querySelector("[data-testid=grid-totals]") : null;
    if (!bar) return;
    var row = control.closest("[data-grid-row]") || control;
    if (row.getBoundingClientRect().bottom > bar.getBoundingClientRect().top) {
      row.scrollIntoView({ block: "center" });
    }
  });

  // ---------------------------------------------------------------- after a refused submission
  var errors = document.getElementById("form-errors");
  var firstInvalid = form.querySelector(".is-invalid");
  if (errors && firstInvalid) {
    firstInvalid.focus();
  }
})();
