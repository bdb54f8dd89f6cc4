"""Deserialized workflows kept in process between transactions, so consecutive completions of one
instance skip rebuilding its workflow from JSON.

Safe by construction:
- an entry is keyed by the database, the instance id and the digest of the state text it was saved
  as; a load whose row holds any other text (another worker moved the instance) misses;
- a load takes the entry out, so no two transactions ever share a workflow object;
- a save puts it back only after the transaction commits; a rollback drops it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import event
from sqlalchemy.orm import Session

from workflows.engine import specs

_KEPT = 64
_ENTRIES: OrderedDict[tuple[str, int], tuple[str, BpmnWorkflow, specs.Compiled]] = OrderedDict()
_LOCK = threading.Lock()
_PENDING = "jixiao_workflows_to_keep"
hits = misses = 0


def digest(state: str) -> str:
    return hashlib.blake2b(state.encode("utf-8"), digest_size=16).hexdigest()


def _key(session: Session, instance_id: int) -> tuple[str, int]:
    return str(session.get_bind().engine.url), instance_id


def take(session: Session, instance_id: int, state: str) -> tuple[BpmnWorkflow, specs.Compiled] | None:
    """The workflow saved as exactly this state, taken out of the cache; None when it is not there."""
    global hits, misses
    key = _key(session, instance_id)
    with _LOCK:
        entry = _ENTRIES.pop(key, None)
    if entry is None or entry[0] != digest(state):
        misses += 1
        return None
    hits += 1
    return entry[1], entry[2]


def keep_after_commit(
    session: Session, instance_id: int, state: str, workflow: BpmnWorkflow, compiled: specs.Compiled
) -> None:
    """Offer the workflow just saved as `state` to the cache, once (and if) the transaction commits."""
    session.info.setdefault(_PENDING, {})[_key(session, instance_id)] = (digest(state), workflow, compiled)


def clear() -> None:
    with _LOCK:
        _ENTRIES.clear()


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    with _LOCK:
        for key, entry in pending.items():
            _ENTRIES[key] = entry
            _ENTRIES.move_to_end(key)
        while len(_ENTRIES) > _KEPT:
            _ENTRIES.popitem(last=False)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
