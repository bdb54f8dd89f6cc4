// The office's review matrix: filter it to one city (a column), one department (its rows) or the
// flagged cells only; the ranking's and the flag list's links pick a city or department.
(function () {
  'use strict';
  const matrix = document.querySelector('[data-review-matrix]');
  const bar = document.querySelector('[data-review-filter]');
  if (!matrix || !bar) { return; }
  const city = bar.querySelector('[data-review-filter-city]');
  const department = bar.querySelector('[data-review-filter-department]');
  const flagged = bar.querySelector('[data-review-filter-flagged]');
  bar.hidden = false;

  function rowShown(row, c, d, onlyFlagged) {
    if (d && row.dataset.dept !== d) { return false; }
    if (!onlyFlagged) { return true; }
    if (!c) { return row.dataset.flagged === 'true'; }
    return row.querySelector('td.rv-flagged[data-col="' + CSS.escape(c) + '"]') !== null;
  }

  function apply() {
    const c = city.value;
    const d = department.value;
    const onlyFlagged = flagged.checked;
    const filtering = Boolean(c || d || onlyFlagged);
    matrix.querySelectorAll('[data-col]').forEach(function (cell) {
      cell.hidden = Boolean(c) && cell.dataset.col !== c;
    });
    matrix.querySelectorAll('tr[data-dept]').forEach(function (row) {
      row.hidden = !rowShown(row, c, d, onlyFlagged);
    });
    matrix.querySelectorAll('details[data-key-point]').forEach(function (group) {
      group.hidden = group.querySelector('tr[data-dept]:not([hidden])') === null;
      if (filtering && !group.hidden) { group.open = true; }
    });
    matrix.querySelectorAll('details[data-dimension]').forEach(function (group) {
      group.hidden = group.querySelector('details[data-key-point]:not([hidden])') === null;
      if (filtering && !group.hidden) { group.open = true; }
    });
  }

  [city, department, flagged].forEach(function (control) { control.addEventListener('change', apply); });
  document.querySelectorAll('[data-review-pick]').forEach(function (link) {
    link.addEventListener('click', function () {
      const select = link.dataset.reviewPick === 'city' ? city : department;
      select.value = link.dataset.value;
      apply();
    });
  });
})();
