/* Draws BPMN diagrams with bpmn-js (vendor/bpmn-js, from npm at build time).
 *
 * #diagram on the office monitor: the process chosen in #diagram-select, with a badge per element
 *   (open / overdue / incident / waiting / done) from #monitor-counts, refreshed from data-counts-url.
 *   A click on a call activity (#monitor-calls: process → element → called process) opens the called
 *   process's diagram; the instances of the shown process ([data-instances-for]) are listed below it,
 *   and its nodes in the year's tree are marked. A tree node's button shows its process.
 * [data-bpmn-url] anywhere else (the task page): one diagram, the element in data-highlight marked.
 */
(function () {
  'use strict';
  if (typeof window.BpmnJS !== 'function') { return; }

  function fetchText(url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error(url + ': ' + r.status); }
      return r.text();
    });
  }

  // bpmn-js's own logo link (its licence keeps it on the drawing) says whose it is in the page's language
  function labelLogo(container) {
    var logo = container.querySelector('.bjs-powered-by');
    var text = container.dataset.labelPoweredBy;
    if (logo && text) { logo.title = text; logo.setAttribute('aria-label', text); }
  }

  function showError(container, text) {
    var p = document.createElement('p');
    p.className = 'text-danger small p-3 mb-0';
    p.textContent = text || 'The diagram could not be drawn.';
    container.replaceChildren(p);
  }

  // Fit the drawing to its box; skipped while the box has no size (hidden, or the page is leaving),
  // where bpmn-js would compute a non-finite zoom.
  function fit(viewer, container) {
    if (!(container.clientWidth > 0 && container.clientHeight > 0)) { return; }
    try {
      viewer.get('canvas').zoom('fit-viewport', 'auto');
    } catch (err) {
      // an empty drawing has no extent to fit; leave the zoom as it is
      if (window.console) { window.console.warn('diagram not fitted:', err.message); }
    }
  }

  function badge(kind, text, label) {
    var span = document.createElement('span');
    span.className = 'overlay-badge overlay-' + kind;
    span.textContent = text;
    span.title = label;
    span.setAttribute('aria-label', label);
    span.dataset.kind = kind;
    return span;
  }

  function renderCounts(viewer, container, counts) {
    var overlays = viewer.get('overlays');
    var registry = viewer.get('elementRegistry');
    overlays.remove({ type: 'counts' });
    Object.keys(counts || {}).forEach(function (elementId) {
      if (!registry.get(elementId)) { return; }
      var c = counts[elementId];
      var box = document.createElement('div');
      box.className = 'overlay-counts';
      box.dataset.testid = 'overlay-' + elementId;
      box.setAttribute('data-testid', 'overlay-' + elementId);
      var d = container.dataset;
      if (c.open) { box.appendChild(badge('open', String(c.open), c.open + ' ' + d.labelOpen)); }
      if (c.overdue) { box.appendChild(badge('overdue', String(c.overdue), c.overdue + ' ' + d.labelOverdue)); }
      if (c.incident) { box.appendChild(badge('incident', '!', d.labelIncident)); }
      if (c.waiting) { box.appendChild(badge('waiting', '\u23F3', d.labelWaiting)); }
      if (c.done && !c.open) { box.appendChild(badge('done', String(c.done), c.done + ' ' + d.labelDone)); }
      box.dataset.open = c.open || 0;
      box.dataset.overdue = c.overdue || 0;
      box.dataset.done = c.done || 0;
      if (box.childNodes.length) {
        overlays.add(elementId, 'counts', { position: { top: -12, right: 12 }, scale: { min: 1 }, html: box });
      }
    });
  }

  function monitor(container) {
    var select = document.getElementById('diagram-select');
    var dataNode = document.getElementById('monitor-counts');
    var allCounts = dataNode ? JSON.parse(dataNode.textContent) : {};
    var callsNode = document.getElementById('monitor-calls');
    var calls = callsNode ? JSON.parse(callsNode.textContent) : {};
    var viewer = new window.BpmnJS({ container: container });
    labelLogo(container);
    var current = null;
    var loading = 0;

    function markInstances() {
      document.querySelectorAll('[data-instances-for]').forEach(function (node) {
        node.hidden = node.dataset.instancesFor !== current;
      });
      document.querySelectorAll('.instance-tree li[data-process]').forEach(function (node) {
        node.classList.toggle('is-current', node.dataset.process === current);
      });
    }

    function show(processId) {
      for (var i = 0; i < select.options.length; i++) {
        if (select.options[i].value === processId) {
          select.selectedIndex = i;
          load();
          container.scrollIntoView({ block: 'nearest' });
          return true;
        }
      }
      return false;
    }

    function markCalls() {
      var targets = calls[current] || {};
      var canvas = viewer.get('canvas');
      Object.keys(targets).forEach(function (elementId) {
        if (viewer.get('elementRegistry').get(elementId)) { canvas.addMarker(elementId, 'call-link'); }
      });
    }

    var note = document.getElementById('diagram-note');
    viewer.on('element.click', function (event) {
      var called = (calls[current] || {})[event.element.id];
      if (!called) { return; }
      var shown = show(called);
      if (note) { note.hidden = shown; }
    });

    document.querySelectorAll('[data-show-process]').forEach(function (button) {
      button.addEventListener('click', function () { show(button.dataset.showProcess); });
    });

    function load() {
      var option = select.options[select.selectedIndex];
      if (!option) { return; }
      var ticket = ++loading;  // only the latest choice may draw
      current = option.value;
      if (note) { note.hidden = true; }
      markInstances();
      container.dataset.loaded = '';
      fetchText(option.dataset.url)
        .then(function (xml) {
          if (ticket !== loading) { return null; }
          return viewer.importXML(xml);
        })
        .then(function (done) {
          if (done === null || ticket !== loading) { return; }
          fit(viewer, container);
          renderCounts(viewer, container, allCounts[current]);
          markCalls();
          container.dataset.loaded = current;
        })
        .catch(function () { showError(container, container.dataset.error); });
    }

    function refresh() {
      return fetch(container.dataset.countsUrl, { credentials: 'same-origin' })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          allCounts = data.counts || {};
          renderCounts(viewer, container, allCounts[current]);
          Object.keys(data.totals || {}).forEach(function (key) {
            var node = document.querySelector('[data-testid="total-' + key + '"]');
            if (node) { node.textContent = data.totals[key]; }
          });
          var stamp = document.querySelector('[data-testid="refreshed"]');
          if (stamp) { stamp.dataset.at = String(Date.now()); }
        })
        .catch(function () {
          // signed out or offline: keep the last counts; the next refresh or a reload will tell
          container.dataset.stale = 'true';
        });
    }

    select.addEventListener('change', load);
    var button = document.getElementById('diagram-refresh');
    if (button) { button.addEventListener('click', function () { refresh(); }); }
    window.setInterval(function () { if (!document.hidden) { refresh(); } }, 60000);
    window.addEventListener('resize', function () {
      if (container.dataset.loaded) { fit(viewer, container); }
    });
    load();
  }

  function single(container) {
    var viewer = new window.BpmnJS({ container: container });
    labelLogo(container);
    fetchText(container.dataset.bpmnUrl)
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get('canvas');
        var target = container.dataset.highlight;
        if (target && viewer.get('elementRegistry').get(target)) {
          canvas.addMarker(target, 'current-step');
          viewer.get('overlays').add(target, { position: { bottom: 4, left: -4 },
            scale: { min: 1 }, html: badge('here', container.dataset.labelHere || 'You are here', container.dataset.labelHere || '') });
        }
        fit(viewer, container);
        container.dataset.loaded = 'true';
      })
      .catch(function () { showError(container, container.dataset.error); });
  }

  var main = document.getElementById('diagram');
  if (main && document.getElementById('diagram-select')) { monitor(main); }
  document.querySelectorAll('[data-bpmn-url]').forEach(single);
})();
