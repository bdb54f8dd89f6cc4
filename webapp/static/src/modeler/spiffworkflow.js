/* The spiffworkflow namespace as a moddle extension: what the runtime reads from a diagram's
 * extensionElements (workflows/engine/definitions.py, specs.py), so the modeler reads and writes it
 * as typed elements instead of dropping or rewriting it. Property names in use: formKey, org, due,
 * scope, phase, round, assignee, subject, binding, role (lanes). */
const body = (name) => ({
  name,
  superClass: ['Element'],
  properties: [{ name: 'value', type: 'String', isBody: true }],
});

export default {
  name: 'SpiffWorkflow',
  uri: 'http://spiffworkflow.org/bpmn/schema/1.0/core',
  prefix: 'spiffworkflow',
  xml: { tagAlias: 'lowerCase' },
  associations: [],
  types: [
    {
      name: 'Properties',
      superClass: ['Element'],
      properties: [{ name: 'properties', type: 'Property', isMany: true }],
    },
    {
      name: 'Property',
      superClass: ['Element'],
      properties: [
        { name: 'name', type: 'String', isAttr: true },
        { name: 'value', type: 'String', isAttr: true },
      ],
    },
    body('InstructionsForEndUser'),
    body('PreScript'),
    body('PostScript'),
    body('MessagePayload'),
  ],
};
