/* The administrator's modeler page (admin/modeler.html): the diagram in the bpmn-js Modeler with the
 * properties panel and our group, saved as the year's draft (PUT save_url, JSON {"xml"}), checked
 * by the server (POST check_url) on the "检查" button and a moment after each edit, the problems on
 * the elements and in the list; leaving with unsaved changes asks first. */
import BpmnModeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import { showProblems } from './problems.js';
import { JixiaoPropertiesModule } from './properties.js';
import { KeepReferencesModule } from './references.js';
import spiffworkflow from './spiffworkflow.js';
import { TranslateModule, translateTitles } from './translate.js';

const CHECK_AFTER_EDIT_MS = 1500;

async function send(url, method, xml, csrfToken) {
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken },
    body: JSON.stringify({ xml }),
  });
  let body = null;
  try { body = await response.json(); } catch (err) { body = null; }
  return { ok: response.ok, status: response.status, body };
}

function refusal(result, texts) {
  const error = result.body && result.body.error;
  if (!error) { return `${texts.failed} (HTTP ${result.status})`; }
  const details = Object.values(error.fields || {}).flat().filter((m) => m && m !== error.message);
  return [error.message, ...details].join('；');
}

export async function startEditor(page) {
  const config = JSON.parse(document.getElementById('modeler-config').textContent);
  const texts = config.texts;
  const status = page.querySelector('[data-role="status"]');
  const list = page.querySelector('[data-role="problems"]');
  const saveButton = page.querySelector('[data-role="save"]');
  const checkButton = page.querySelector('[data-role="check"]');

  const modeler = new BpmnModeler({
    container: page.querySelector('[data-role="canvas"]'),
    propertiesPanel: {
      parent: page.querySelector('[data-role="properties"]'),
      layout: { groups: { general: { open: true }, jixiao: { open: true } } },
    },
    additionalModules: [
      TranslateModule,
      KeepReferencesModule,
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      JixiaoPropertiesModule,
    ],
    moddleExtensions: { spiffworkflow },
    jixiao: { vocabulary: config.vocabulary },
  });
  window.jixiaoModeler = modeler; // for the browser test and the console
  translateTitles(page);

  let dirty = false;
  let busy = false;
  let checks = 0; // the latest check asked for: earlier answers are dropped
  let edits = 0;
  let timer = null;

  const say = (text, kind) => {
    status.textContent = text;
    status.dataset.kind = kind || '';
  };
  const render = (problems) => showProblems(modeler, problems, list, texts);

  try {
    await modeler.importXML(config.xml);
    modeler.get('canvas').zoom('fit-viewport', 'auto');
  } catch (err) {
    say(`${texts.notDrawn} ${err.message}`, 'error');
    return;
  }
  render(config.problems);

  const check = async () => {
    const mine = ++checks;
    const { xml } = await modeler.saveXML({ format: true });
    const result = await send(config.check_url, 'POST', xml, config.csrf_token);
    if (mine !== checks) { return; } // a later edit asked again
    if (result.ok) {
      render(result.body.problems);
    } else {
      say(refusal(result, texts), 'error');
    }
  };

  const save = async () => {
    if (busy) { return; } // a second click while saving does nothing more
    busy = true;
    saveButton.disabled = true;
    say(texts.saving, 'busy');
    const editsBefore = edits;
    try {
      const { xml } = await modeler.saveXML({ format: true });
      const result = await send(config.save_url, 'PUT', xml, config.csrf_token);
      if (result.ok) {
        if (editsBefore === edits) { dirty = false; } // an edit during the save stays unsaved
        render(result.body.problems);
        const at = new Date(result.body.saved_at);
        say(`${texts.saved} ${at.toLocaleString(document.documentElement.lang || undefined)}`, 'saved');
        page.dataset.savedAt = result.body.saved_at;
      } else {
        say(refusal(result, texts), 'error');
      }
    } catch (err) {
      say(`${texts.failed} ${err.message}`, 'error');
    } finally {
      busy = false;
      saveButton.disabled = false;
    }
  };

  modeler.on('commandStack.changed', () => {
    dirty = true;
    edits += 1;
    say(texts.unsaved, 'dirty');
    window.clearTimeout(timer);
    timer = window.setTimeout(() => { check().catch((err) => say(err.message, 'error')); }, CHECK_AFTER_EDIT_MS);
  });
  saveButton.addEventListener('click', () => { save(); });
  checkButton.addEventListener('click', () => {
    window.clearTimeout(timer);
    check().catch((err) => say(err.message, 'error'));
  });
  window.addEventListener('beforeunload', (event) => {
    if (dirty) {
      event.preventDefault();
      event.returnValue = texts.leave; // browsers show their own words
    }
  });
  page.dataset.ready = 'true';
}
