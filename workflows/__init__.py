"""The process layer: BPMN diagrams of the yearly cycle, the forms their user tasks name, and the
runtime (workflows.engine) — the only code that imports SpiffWorkflow."""

from pathlib import Path

BPMN_DIR = Path(__file__).resolve().parent
