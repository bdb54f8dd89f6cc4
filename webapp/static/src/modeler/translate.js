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

export function untranslated() {
  return [...missing].sort();
}

export const TranslateModule = { translate: ['value', translate] };
