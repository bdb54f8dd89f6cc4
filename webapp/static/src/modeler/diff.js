/* The visual diff (admin/diff.html): the previous deployed version on the left, the draft (or the
 * chosen version) on the right, compared with bpmn-js-differ — added elements marked on the right,
 * removed ones on the left, changed ones (their own attributes or their extension properties) and
 * moved ones on both — and the changes listed by element name. Moving or zooming one diagram moves
 * the other. */
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { diff } from 'bpmn-js-differ';

import { KeepReferencesModule } from './references.js';
import spiffworkflow from './spiffworkflow.js';
import { TranslateModule, translate, translateTitles } from './translate.js';

const KINDS = [
  // kind, differ's key, which diagrams show it
  ['added', '_added', ['new']],
  ['removed', '_removed', ['old']],
  ['changed', '_changed', ['old', 'new']],
  ['layout', '_layoutChanged', ['old', 'new']],
];

function viewer(container) {
  const made = new NavigatedViewer({
    container,
    additionalModules: [TranslateModule, KeepReferencesModule],
    moddleExtensions: { spiffworkflow },
  });
  translateTitles(container);
  return made;
}

function typeName(type) {
  // bpmn:UserTask → "User Task", as the properties panel's header names it (and translates it)
  return translate((type || '').replace(/^bpmn:/, '').replace(/([a-z])([A-Z])/g, '$1 $2'));
}

function followEachOther(a, b) {
  let moving = false;
  const follow = (from, to) => from.on('canvas.viewbox.changed', ({ viewbox }) => {
    if (moving) { return; }
    moving = true;
    to.get('canvas').viewbox({ x: viewbox.x, y: viewbox.y, width: viewbox.width, height: viewbox.height });
    moving = false;
  });
  follow(a, b);
  follow(b, a);
}

function mark(target, id, kind) {
  const registry = target.get('elementRegistry');
  const shape = registry.get(id) || registry.find((s) => s.businessObject && s.businessObject.processRef && s.businessObject.processRef.id === id);
  if (shape && shape !== target.get('canvas').getRootElement()) {
    target.get('canvas').addMarker(shape, `jx-diff-${kind}`);
    return true;
  }
  return false;
}

function listItem(kind, id, model, attrs, texts) {
  const item = document.createElement('li');
  item.className = 'list-group-item small';
  item.dataset.kind = kind;
  item.dataset.element = id;
  const badge = document.createElement('span');
  badge.className = `jx-diff-swatch jx-diff-swatch-${kind}`;
  badge.setAttribute('aria-hidden', 'true');
  const what = document.createElement('span');
  what.className = 'text-body-secondary';
  what.textContent = `${texts[kind]} · ${typeName(model && model.$type)} `;
  const name = document.createElement('strong');
  name.textContent = (model && model.name) || id;
  item.append(badge, ' ', what, name);
  const changed = Object.keys(attrs || {});
  if (changed.length) {
    const detail = document.createElement('div');
    detail.className = 'text-body-secondary';
    detail.textContent = changed.map((attr) => {
      const { oldValue, newValue } = attrs[attr];
      const show = (v) => (v && typeof v === 'object' ? v.id || v.name || '…' : String(v === undefined ? '—' : v));
      return `${attr}: ${show(oldValue)} → ${show(newValue)}`;
    }).join('；');
    item.append(detail);
  }
  return item;
}

export async function startDiff(page) {
  const config = JSON.parse(document.getElementById('diff-config').textContent);
  const texts = config.texts;
  const list = page.querySelector('[data-role="changes"]');
  const now = viewer(page.querySelector('[data-role="new"]'));
  window.jixiaoDiff = { now };
  await now.importXML(config.new_xml);
  now.get('canvas').zoom('fit-viewport', 'auto');
  if (!config.old_xml) {
    page.dataset.ready = 'true';
    return;
  }
  const before = viewer(page.querySelector('[data-role="old"]'));
  window.jixiaoDiff.before = before;
  await before.importXML(config.old_xml);
  before.get('canvas').zoom('fit-viewport', 'auto');
  now.get('canvas').viewbox(before.get('canvas').viewbox());
  followEachOther(before, now);

  const changes = diff(before.getDefinitions(), now.getDefinitions());
  const viewers = { old: before, new: now };
  list.replaceChildren();
  let count = 0;
  KINDS.forEach(([kind, key, where]) => {
    Object.entries(changes[key] || {}).forEach(([id, change]) => {
      const model = change.model || change;
      if (model.$type === 'bpmndi:BPMNDiagram' || model.$type === 'bpmndi:BPMNPlane') { return; }
      where.forEach((side) => mark(viewers[side], id, kind));
      list.append(listItem(kind, id, model, change.attrs, texts));
      count += 1;
    });
  });
  if (!count) {
    const item = document.createElement('li');
    item.className = 'list-group-item small';
    item.setAttribute('data-testid', 'no-changes');
    item.textContent = texts.none;
    list.append(item);
  }
  page.dataset.changes = String(count);
  page.dataset.ready = 'true';
}
