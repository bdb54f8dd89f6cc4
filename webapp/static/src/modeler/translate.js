/* The modeler's own texts (palette, context pad, popup menus, properties panel, our group) in the
 * page's language: Chinese from bpmn-js-i18n's community translation, completed and corrected by
 * zh.js; English as the libraries write it. What has no Chinese is remembered (untranslated()), so
 * the browser test can tell when a library upgrade brings new English. */
import community from 'bpmn-js-i18n/translations/zn.js';

import ours from './zh.js';

const CHINESE = { ...community, ...ours };
const missing = new Set();

export function pageIsChinese() {
  return (document.documentElement.lang || '').toLowerCase().startsWith('zh');
}

export function translate(template, replacements) {
  let text = template;
  if (pageIsChinese()) {
    if (Object.prototype.hasOwnProperty.call(CHINESE, template)) {
      text = CHINESE[template];
    } else if (/[A-Za-z]/.test(template)) {
      missing.add(template);
    }
  }
  return text.replace(/{([^}]+)}/g, (whole, key) => (replacements && key in replacements ? replacements[key] : whole));
}

// Texts the libraries write without asking `translate` (the properties panel's own buttons and section
// badges fall back to English when their group or entry is not handed a translate function; bpmn-js's
// logo link): their titles and aria-labels under `root`, translated as they appear.
const READ = ['title', 'aria-label'];

export function translateTitles(root) {
  if (!pageIsChinese() || !root) { return; }
  const fix = (node) => READ.forEach((name) => {
    const value = node.getAttribute && node.getAttribute(name);
    if (value && Object.prototype.hasOwnProperty.call(CHINESE, value)) { node.setAttribute(name, CHINESE[value]); }
  });
  const fixAll = (node) => {
    if (node.nodeType !== 1) { return; }
    fix(node);
    node.querySelectorAll('[title], [aria-label]').forEach(fix);
  };
  fixAll(root);
  new MutationObserver((changes) => changes.forEach((change) => {
    if (change.type === 'attributes') { fix(change.target); } else { change.addedNodes.forEach(fixAll); }
  })).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: READ });
}

export function untranslated() {
  return [...missing].sort();
}

export const TranslateModule = { translate: ['value', translate] };
