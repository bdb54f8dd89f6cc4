/* The properties group of our own ("考评流程"): what the runtime understands, per element type —
 * a lane's role, a user task's form key, org expression, due date, scope and instructions, a
 * multi-instance collection and item, a timer's date or duration, the condition on a gateway's
 * branch, a call activity's target, binding, phase and round, the process's phase. Everything is
 * written through the command stack (undo and redo work) as spiffworkflow extension elements or the
 * standard BPMN the engine reads. The choices (form keys, roles, phases, processes, bindings) come
 * from the page (config.jixiao.vocabulary: { value: title }).
 *
 * An entry is data: its label and description (English, translated), `get(element)`, `set(element,
 * value, services)` returning the commands to run, and for a select `options(element, services)`,
 * for a text `validate(value, element, services)`. Three components render them. */
import {
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry,
  isSelectEntryEdited,
  isTextAreaEntryEdited,
  isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { jsx } from '@bpmn-io/properties-panel/preact/jsx-runtime';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import { variableReference } from './references.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DECIDING_GATEWAYS = ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway'];
const TIMER_KINDS = ['timeDate', 'timeDuration', 'timeCycle'];

// ---------------------------------------------------------------- reading and writing the model

function extensionValues(bo) {
  const extensions = bo.get('extensionElements');
  return extensions ? extensions.get('values') : [];
}

function propertiesOf(bo) {
  return extensionValues(bo).find((value) => is(value, 'spiffworkflow:Properties'));
}

export function getProperty(bo, name) {
  const properties = propertiesOf(bo);
  const found = properties && properties.get('properties').find((p) => p.get('name') === name);
  return found ? found.get('value') || '' : '';
}

function update(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } };
}

/* The commands that create the extensionElements and the container of `type` on `bo` when missing. */
function containerCommands(element, bo, type, bpmnFactory, attrs) {
  const commands = [];
  let extensions = bo.get('extensionElements');
  if (!extensions) {
    extensions = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    extensions.$parent = bo;
    commands.push(update(element, bo, { extensionElements: extensions }));
  }
  let container = extensions.get('values').find((value) => is(value, type));
  if (!container) {
    container = bpmnFactory.create(type, attrs);
    container.$parent = extensions;
    commands.push(update(element, extensions, { values: [...extensions.get('values'), container] }));
  }
  return { commands, container };
}

/* Set (or, with '', remove) the spiffworkflow:property `name` of `bo`. */
function propertyCommands(element, bo, name, value, bpmnFactory) {
  const existing = propertiesOf(bo);
  const found = existing && existing.get('properties').find((p) => p.get('name') === name);
  if (!value) {
    return found ? [update(element, existing, { properties: existing.get('properties').filter((p) => p !== found) })] : [];
  }
  if (found) {
    return [update(element, found, { value })];
  }
  const { commands, container } = containerCommands(element, bo, 'spiffworkflow:Properties', bpmnFactory, { properties: [] });
  const property = bpmnFactory.create('spiffworkflow:Property', { name, value });
  property.$parent = container;
  commands.push(update(element, container, { properties: [...container.get('properties'), property] }));
  return commands;
}

function bodyOf(bo, type) {
  const found = extensionValues(bo).find((value) => is(value, type));
  return found ? found.get('value') || '' : '';
}

/* Set (or, with '', remove) the extension element of `type` whose body is the value. */
function bodyCommands(element, bo, type, value, bpmnFactory) {
  const extensions = bo.get('extensionElements');
  const found = extensions && extensions.get('values').find((v) => is(v, type));
  if (!value) {
    return found ? [update(element, extensions, { values: extensions.get('values').filter((v) => v !== found) })] : [];
  }
  if (found) {
    return [update(element, found, { value })];
  }
  return containerCommands(element, bo, type, bpmnFactory, { value }).commands;
}

/* Set (or, with '', remove) the FormalExpression in `owner[property]`. */
function expressionCommands(element, owner, property, text, bpmnFactory) {
  const existing = owner.get(property);
  if (existing && text) {
    return [update(element, existing, { body: text })];
  }
  let expression;
  if (text) {
    expression = bpmnFactory.create('bpmn:FormalExpression', { body: text });
    expression.$parent = owner;
  }
  return [update(element, owner, { [property]: expression })];
}

function processOf(element) {
  const bo = getBusinessObject(element);
  if (is(bo, 'bpmn:Participant')) { return bo.get('processRef'); }
  return is(bo, 'bpmn:Process') ? bo : null;
}

const loopOf = (element) => getBusinessObject(element).get('loopCharacteristics');
const timerOf = (element) => (getBusinessObject(element).get('eventDefinitions') || []).find((d) => is(d, 'bpmn:TimerEventDefinition'));
const timerKind = (timer) => TIMER_KINDS.find((kind) => timer.get(kind)) || '';

// ---------------------------------------------------------------- the three entry components

function useServices() {
  return {
    translate: useService('translate'),
    commandStack: useService('commandStack'),
    bpmnFactory: useService('bpmnFactory'),
    moddle: useService('moddle'),
  };
}

function common(props, services) {
  const { element, id, label, description, get, set } = props;
  const { translate, commandStack } = services;
  return {
    element,
    id,
    label: translate(label),
    description: description && translate(description),
    getValue: () => get(element),
    setValue: (value, error) => {
      if (error) { return; } // the entry shows the error; the model keeps its value
      // as typed: trimming here would eat the space being typed when the debounced value arrives
      const commands = set(element, value || '', services);
      if (commands.length) {
        commandStack.execute('properties-panel.multi-command-executor', commands);
      }
    },
  };
}

function Text(props) {
  const services = useServices();
  const debounce = useService('debounceInput');
  const { validate, disabled } = props;
  return jsx(TextFieldEntry, {
    ...common(props, services),
    debounce,
    disabled: disabled && disabled(props.element),
    validate: validate && ((value) => validate(value || '', props.element, services)),
  });
}

function LongText(props) {
  const services = useServices();
  const debounce = useService('debounceInput');
  return jsx(TextAreaEntry, { ...common(props, services), debounce, rows: 3 });
}

function Select(props) {
  const services = useServices();
  const { options, element, get } = props;
  return jsx(SelectEntry, {
    ...common(props, services),
    getOptions: () => {
      const listed = options(element, services);
      const current = get(element);
      // a value the page does not know (a form removed, a process not deployed) stays visible
      return current && !listed.some((o) => o.value === current)
        ? [...listed, { value: current, label: `${current}（${services.translate(props.unknown || 'not known here')}）` }]
        : listed;
    },
  });
}

const KINDS = {
  text: [Text, isTextFieldEntryEdited],
  longText: [LongText, isTextAreaEntryEdited],
  select: [Select, isSelectEntryEdited],
};

function choices(vocabulary, translate, { empty, describe = (value, title) => title } = {}) {
  return [
    { value: '', label: empty || translate('<none>') },
    ...Object.keys(vocabulary || {}).map((value) => ({ value, label: describe(value, vocabulary[value]) })),
  ];
}

const variableName = (value, element, { translate }) => (value && !IDENTIFIER.test(value) ? translate('A variable name: letters, digits and _.') : null);

// ---------------------------------------------------------------- the entries, per element type

/* A spiffworkflow:property of the element (or, with `on`, of what `on(element)` gives). */
function property(name, { on = getBusinessObject, ...entry }) {
  return {
    ...entry,
    get: (element) => getProperty(on(element), name),
    set: (element, value, { bpmnFactory }) => propertyCommands(element, on(element), name, value, bpmnFactory),
  };
}

function entriesFor(element, vocabulary) {
  const bo = getBusinessObject(element);
  const roles = vocabulary.roles || {};
  const phases = (el, { translate }) => choices(vocabulary.phases, translate);
  const entries = [];
  const add = (id, kind, entry) => {
    const [component, isEdited] = KINDS[kind];
    entries.push({ id: `jixiao-${id}`, component, isEdited, ...entry });
  };

  if (processOf(element)) {
    add('phase', 'select', property('phase', {
      on: processOf, label: 'Phase', description: 'The phase of the year its tasks belong to.', options: phases,
    }));
  }
  if (is(bo, 'bpmn:Lane')) {
    const role = property('role', {
      label: 'Role',
      description: 'Who works on the user tasks in this lane.',
      options: (el, { translate }) => choices(roles, translate),
    });
    add('role', 'select', {
      ...role,
      set: (el, value, services) => {
        const commands = role.set(el, value, services);
        const name = (bo.get('name') || '').trim();
        // the lane shows its role's name; a name of its own the administrator gave it stays
        if (value && (!name || name in roles || name === roles[role.get(el)])) {
          commands.push({ cmd: 'element.updateProperties', context: { element: el, properties: { name: roles[value] } } });
        }
        return commands;
      },
    });
  }
  if (is(bo, 'bpmn:UserTask')) {
    add('formKey', 'select', property('formKey', {
      label: 'Form',
      description: 'The registered form this task shows.',
      options: () => choices(vocabulary.forms, null, { empty: '—', describe: (key, task) => (task ? `${key} · ${task}` : key) }),
    }));
    add('org', 'text', property('org', {
      label: 'Organisation', description: 'An expression giving the organisation the task is for, e.g. city or department.',
    }));
    add('due', 'text', property('due', { label: 'Due', description: 'An expression giving the deadline, e.g. report_deadline.' }));
    add('scope', 'text', property('scope', { label: 'Scope', description: 'What the task belongs to, e.g. round.' }));
    add('instructions', 'longText', {
      label: 'Instructions',
      description: 'Shown above the form; Markdown.',
      get: (el) => bodyOf(getBusinessObject(el), 'spiffworkflow:InstructionsForEndUser'),
      set: (el, value, { bpmnFactory }) => bodyCommands(el, getBusinessObject(el), 'spiffworkflow:InstructionsForEndUser', value, bpmnFactory),
    });
  }
  if (is(bo, 'bpmn:CallActivity')) {
    add('calledElement', 'select', {
      label: 'Called process',
      description: 'A process deployed for this year (or for every year).',
      unknown: 'not deployed for this year',
      get: (el) => getBusinessObject(el).get('calledElement') || '',
      set: (el, value) => [update(el, getBusinessObject(el), { calledElement: value || undefined })],
      options: (el, { translate }) => choices(vocabulary.processes, translate, { describe: (value, name) => `${name} (${value})` }),
    });
    add('binding', 'select', property('binding', {
      label: 'Version',
      description: 'Which version of the called process its instance runs.',
      options: (el, { translate }) => choices(vocabulary.bindings, translate, { empty: (vocabulary.bindings || {}).latest }),
    }));
    add('callPhase', 'select', property('phase', {
      label: 'Phase', description: 'The phase of the year the called process’s tasks belong to.', options: phases,
    }));
    add('round', 'text', property('round', {
      label: 'Round', description: 'An expression giving the evaluation round, e.g. "half_year".',
    }));
  }
  if (is(bo, 'bpmn:Activity') && is(bo.get('loopCharacteristics'), 'bpmn:MultiInstanceLoopCharacteristics')) {
    add('collection', 'text', {
      label: 'Collection',
      description: 'The list in the task data: one instance per item (e.g. cities, departments).',
      validate: variableName,
      get: (el) => (loopOf(el).get('loopDataInputRef') ? loopOf(el).get('loopDataInputRef').id : ''),
      set: (el, value, { moddle }) => [update(el, loopOf(el), { loopDataInputRef: value ? variableReference(moddle, value) : undefined })],
    });
    add('item', 'text', {
      label: 'Item',
      description: 'The name each instance gets its item under (e.g. city).',
      get: (el) => {
        const item = loopOf(el).get('inputDataItem');
        return item ? item.get('name') || item.get('id') || '' : '';
      },
      validate: (value, el, services) => {
        const holder = value && services.moddle.ids.assigned(value);
        return variableName(value, el, services)
          || (holder && holder !== loopOf(el).get('inputDataItem') ? services.translate('Another element of the diagram has this id.') : null);
      },
      set: (el, value, { bpmnFactory, moddle }) => {
        const old = loopOf(el).get('inputDataItem');
        if (old && old.id) { moddle.ids.unclaim(old.id); }
        let item;
        if (value) {
          item = bpmnFactory.create('bpmn:DataInput', { id: value, name: value }); // the engine reads the id
          item.$parent = loopOf(el);
        }
        return [update(el, loopOf(el), { inputDataItem: item })];
      },
    });
  }
  if (is(bo, 'bpmn:Event') && timerOf(element)) {
    add('timerKind', 'select', {
      label: 'Timer',
      get: (el) => timerKind(timerOf(el)),
      set: (el, kind, { bpmnFactory }) => {
        const timer = timerOf(el);
        const was = timerKind(timer);
        const expression = was ? timer.get(was) : bpmnFactory.create('bpmn:FormalExpression', { body: '' });
        const properties = Object.fromEntries(TIMER_KINDS.map((k) => [k, undefined]));
        if (kind) {
          properties[kind] = expression;
          expression.$parent = timer;
        }
        return [update(el, timer, properties)];
      },
      options: (el, { translate }) => [
        { value: '', label: translate('<none>') },
        { value: 'timeDate', label: translate('Date (an expression giving the day and time)') },
        { value: 'timeDuration', label: translate('Duration (an expression giving how long, e.g. "P5D")') },
        ...(timerKind(timerOf(el)) === 'timeCycle' ? [{ value: 'timeCycle', label: translate('Cycle') }] : []),
      ],
    });
    add('timerValue', 'text', {
      label: 'Timer expression',
      description: 'Over the task data, e.g. report_deadline or "P5D".',
      disabled: (el) => !timerKind(timerOf(el)),
      get: (el) => {
        const kind = timerKind(timerOf(el));
        return kind ? timerOf(el).get(kind).get('body') || '' : '';
      },
      set: (el, value) => {
        const kind = timerKind(timerOf(el));
        return kind ? [update(el, timerOf(el).get(kind), { body: value })] : [];
      },
    });
  }
  if (is(bo, 'bpmn:SequenceFlow') && bo.get('sourceRef') && DECIDING_GATEWAYS.some((t) => is(bo.get('sourceRef'), t))) {
    add('condition', 'text', {
      label: 'Condition',
      description: 'When this branch is taken, over the task data, e.g. decision == "approve". Leave empty on the default branch.',
      get: (el) => (getBusinessObject(el).get('conditionExpression') ? getBusinessObject(el).get('conditionExpression').get('body') || '' : ''),
      set: (el, value, { bpmnFactory }) => expressionCommands(el, getBusinessObject(el), 'conditionExpression', value, bpmnFactory),
    });
  }
  return entries;
}

export default function JixiaoPropertiesProvider(propertiesPanel, translate, config) {
  const vocabulary = (config && config.vocabulary) || {};

  this.getGroups = (element) => (groups) => {
    const entries = entriesFor(element, vocabulary);
    if (!entries.length) { return groups; }
    const general = groups.findIndex((group) => group.id === 'general');
    groups.splice(general + 1, 0, { id: 'jixiao', label: translate('Jixiao'), entries });
    return groups;
  };
  propertiesPanel.registerProvider(400, this);
}

JixiaoPropertiesProvider.$inject = ['propertiesPanel', 'translate', 'config.jixiao'];

export const JixiaoPropertiesModule = {
  __init__: ['jixiaoPropertiesProvider'],
  jixiaoPropertiesProvider: ['type', JixiaoPropertiesProvider],
};
