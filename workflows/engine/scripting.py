"""SpiffWorkflow's script engine, backed by our restricted evaluator instead of eval/exec."""

from __future__ import annotations

from typing import Any, NoReturn

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from workflows.engine import expressions


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict | None = None) -> Any:
        names = {**(external_context or {}), **context}
        return expressions.evaluate(expression, names)

    def execute(self, script: str, context: dict[str, Any], external_context: dict | None = None) -> bool:
        names = {**(external_context or {}), **context}
        # Replace top-level keys only: nested values may be shared with other tasks' data.
        context.update(expressions.execute(script, names))
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> NoReturn:
        raise expressions.ExpressionError("service tasks are not supported")


SCRIPT_ENGINE = PythonScriptEngine(environment=RestrictedEnvironment())
