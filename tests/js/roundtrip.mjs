// Read each BPMN file given with bpmn-moddle, the modeler's spiffworkflow extension and its stand-ins
// for loopDataInputRef, and write it back: prints {"file": "the XML written"} as JSON for
// tests/webapp/test_modeler_roundtrip.py, which compares the two documents.
import { readFileSync } from 'node:fs';
import { BpmnModdle } from 'bpmn-moddle';

import spiffworkflow from '../../webapp/static/src/modeler/spiffworkflow.js';
import { keepUnresolvedReferences } from '../../webapp/static/src/modeler/references.js';

const written = {};
for (const file of process.argv.slice(2)) {
  const moddle = new BpmnModdle({ spiffworkflow });
  const { rootElement, warnings } = await moddle.fromXML(readFileSync(file, 'utf8'), 'bpmn:Definitions');
  keepUnresolvedReferences(warnings, moddle);
  const { xml } = await moddle.toXML(rootElement, { format: true });
  written[file] = xml;
}
process.stdout.write(JSON.stringify(written));
