/* The modeler bundle (make assets: esbuild → static/vendor/modeler/modeler.js): the editor page
 * [data-modeler] and the visual diff page [data-diff] of /admin/processes/<year>/<process>. */
import { startDiff } from './diff.js';
import { startEditor } from './editor.js';
import { untranslated } from './translate.js';

window.jixiaoUntranslated = untranslated;

function failed(page, err) {
  page.dataset.ready = 'error';
  const note = document.createElement('p');
  note.className = 'text-danger small p-3 mb-0';
  note.textContent = `${page.dataset.error || ''} ${err && err.message ? err.message : err}`;
  page.prepend(note);
  throw err;
}

const editor = document.querySelector('[data-modeler]');
if (editor) { startEditor(editor).catch((err) => failed(editor, err)); }
const comparison = document.querySelector('[data-diff]');
if (comparison) { startDiff(comparison).catch((err) => failed(comparison, err)); }
