/* A multi-instance loopDataInputRef names a variable of the task data (SpiffWorkflow's convention),
 * not an element of the file: bpmn-moddle reports it as an unresolved reference and drops it. Put a
 * stand-in back, which bpmn-moddle writes out as the same name, so open → save keeps it. */
export function keepUnresolvedReferences(warnings, moddle) {
  (warnings || []).forEach((warning) => {
    const { element, property, value } = warning;
    if (!element || !property || typeof value !== 'string' || !/^unresolved reference/.test(warning.message || '')) {
      return;
    }
    const descriptor = element.$descriptor && element.$descriptor.propertiesByName[property];
    if (!descriptor || !descriptor.isReference) { return; }
    const standIn = moddle.create(descriptor.type, { id: value });
    if (descriptor.isMany) {
      element.get(property).push(standIn);
    } else {
      element.set(property, standIn);
    }
  });
}

/* A stand-in for the variable `name` (what the properties group sets as the collection). */
export function variableReference(moddle, name) {
  return moddle.create('bpmn:ItemAwareElement', { id: name });
}

function KeepReferences(eventBus, moddle) {
  eventBus.on('import.parse.complete', (event) => keepUnresolvedReferences(event.warnings, moddle));
}

KeepReferences.$inject = ['eventBus', 'moddle'];

export const KeepReferencesModule = {
  __init__: ['keepReferences'],
  keepReferences: ['type', KeepReferences],
};
