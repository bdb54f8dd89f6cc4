/* The server's problems (the rules deploying applies, each on its element) on the diagram — a red
 * outline and a badge with the messages — and in a list whose items select their element. */
const OVERLAY = 'jixiao-problem';
const MARKER = 'jx-has-problem';

/* The shape a problem names: the element itself, or for a process the pool that shows it. */
function shapeFor(registry, elementId) {
  if (!elementId) { return null; }
  const direct = registry.get(elementId);
  if (direct && direct.type !== 'label') { return direct; }
  return registry.find((shape) => {
    const bo = shape.businessObject;
    return bo && bo.$type === 'bpmn:Participant' && bo.processRef && bo.processRef.id === elementId;
  }) || null;
}

export function nameOf(shape, fallback) {
  const bo = shape && shape.businessObject;
  return (bo && bo.name) || fallback || '';
}

export function showProblems(viewer, problems, list, texts) {
  const overlays = viewer.get('overlays');
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const root = canvas.getRootElement();
  overlays.remove({ type: OVERLAY });
  registry.forEach((shape) => { if (canvas.hasMarker(shape, MARKER)) { canvas.removeMarker(shape, MARKER); } });

  const byShape = new Map();
  (problems || []).forEach((problem) => {
    const shape = shapeFor(registry, problem.element);
    const key = shape && shape !== root ? shape.id : '';
    if (!byShape.has(key)) { byShape.set(key, { shape: key ? shape : null, messages: [] }); }
    byShape.get(key).messages.push(problem.message);
  });
  byShape.forEach(({ shape, messages }) => {
    if (!shape) { return; }
    canvas.addMarker(shape, MARKER);
    const badge = document.createElement('span');
    badge.className = 'jx-problem-badge';
    badge.setAttribute('data-testid', `problem-${shape.id}`);
    badge.title = messages.join('\n');
    badge.setAttribute('aria-label', messages.join('；'));
    badge.textContent = String(messages.length);
    overlays.add(shape, OVERLAY, { position: { top: -10, right: 10 }, html: badge });
  });

  list.replaceChildren();
  (problems || []).forEach((problem) => {
    const shape = shapeFor(registry, problem.element);
    const item = document.createElement('li');
    item.className = 'list-group-item list-group-item-action small';
    item.setAttribute('data-element', problem.element || '');
    const where = document.createElement('strong');
    where.textContent = problem.element ? `${nameOf(shape, problem.element)}` : texts.wholeFile;
    item.append(where, document.createTextNode('：' + problem.message));
    if (shape && shape !== root) {
      item.tabIndex = 0;
      item.setAttribute('role', 'button');
      const select = () => {
        viewer.get('selection').select(shape);
        canvas.scrollToElement(shape);
      };
      item.addEventListener('click', select);
      item.addEventListener('keydown', (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); select(); } });
    }
    list.append(item);
  });
  if (!(problems || []).length) {
    const item = document.createElement('li');
    item.className = 'list-group-item small text-success';
    item.setAttribute('data-testid', 'no-problems');
    item.textContent = texts.noProblems;
    list.append(item);
  }
}
