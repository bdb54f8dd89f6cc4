"""Grids of row forms that are cheap to submit.

A grid is a list of row forms: 117 indicators in a city's self-report, 14 cities × a department's
indicators in a score sheet. WTForms' `FieldList(FormField(RowForm))` builds a form object, a meta
object and a field object for every cell of every row on every request, and on this kind of machine
that is most of what submitting a grid costs.

`Rows(RowForm)` is that same `FieldList(FormField(RowForm))` (its pages, JSON Schema and templates
see no difference), but it builds its entries only when something asks for them: a page rendering
the grid, or a check putting a message on a cell. Submitting needs only each row's values and
errors, and those it reads with a single row form that it processes and validates once per row, in
turn. Each row still goes through the row form's own fields, validators and `validate_<field>`
methods, so the rules live in one place. Its data, raw input and errors are kept per row
(`RowResult`); entries built afterwards get the errors that validation found.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wtforms import FieldList, Form, FormField
from wtforms.utils import unset_value

from models.i18n import lazy_gettext as _l


@dataclass
class RowResult:
    """One row as its row form saw it."""

    data: dict[str, Any]  # each field's processed data
    raw: dict[str, tuple[str, list[Any], Any]]  # each field's (type, raw input, data), for drafts
    errors: dict[str, list[Any]] = field(default_factory=dict)  # each field's messages, when it has any


def _direct(form_class: type[Form]) -> dict[str, list[Callable[..., Any]]] | None:
    """The row form's `validate_<field>` methods by field, when its fields may be processed and
    validated one by one as `Form.process` and `Form.validate` would; None when the form changes
    how (its own `process` or `validate`, or `filter_<field>` methods)."""
    if form_class.process is not Form.process or form_class.validate is not Form.validate:
        return None
    names = [name for name, _unbound in form_class._unbound_fields or []]
    if any(hasattr(form_class, f"filter_{name}") for name in names):
        return None
    return {
        name: [getattr(form_class, f"validate_{name}")]
        for name in names
        if hasattr(form_class, f"validate_{name}")
    }


class Rows(FieldList):
    """`FieldList(FormField(form_class))` whose entries are built only when asked for."""

    def __init__(
        self, form_class: type[Form], label: Any = None, *, key: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        super().__init__(FormField(form_class), label, **kwargs)
        self.type = "FieldList"  # the task page and the schema treat it as the list it is
        self.form_class = form_class
        # the fields that name a row (an indicator's code, a city): no two rows may share them
        self.key = key
        self._input: tuple[Any, Any] = (None, unset_value)
        self._entries: list[Any] | None = None
        self._results: list[RowResult] | None = None
        self._validated = False

    # ------------------------------------------------------------ entries, built on demand

    @property
    def entries(self) -> list[Any]:
        if self._entries is None:
            self._entries = []
            formdata, data = self._input
            FieldList.process(self, formdata, data)
            if self._validated and self._results is not None:
                for entry, result in zip(self._entries, self._results, strict=False):
                    for f in entry.form:
                        f.errors = list(result.errors.get(f.short_name, ()))
        return self._entries

    @entries.setter
    def entries(self, value: list[Any]) -> None:
        self._entries = value

    @property
    def built(self) -> bool:
        """Whether the entries exist (then they, not the row results, are the truth)."""
        return self._entries is not None

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        if extra_filters:
            raise TypeError("Rows does not accept any filters. Instead, define them on the row form.")
        self._input = (formdata, data)
        self._entries, self._results, self._validated = None, None, False
        self.object_data = data

    def post_process(self, formdata: Any = None) -> None:
        if self.built:  # rows read through `results` are whole as they are
            FieldList.post_process(self, formdata)

    # ------------------------------------------------------------ rows, read with one row form

    def _row_input(self) -> list[tuple[int, Any]]:
        """(index in the form data, the row's object data) of each row, as FieldList orders them."""
        formdata, data = self._input
        if data is unset_value or not data:
            try:
                data = self.default()
            except TypeError:
                data = self.default
        data_list = list(data) if data else []
        if formdata:
            indices = sorted(set(self._extract_indices(self.name, formdata)))
            if self.max_entries:
                indices = indices[: self.max_entries]
            rows = [(i, data_list[i] if i < len(data_list) else unset_value) for i in indices]
        else:
            rows = list(enumerate(data_list))
        while len(rows) < self.min_entries:
            rows.append((len(rows), unset_value))
        return rows

    def results(self) -> list[RowResult]:
        """Every row processed and validated by the row form (once; the answer is kept)."""
        if self._results is None:
            formdata = self._input[0]
            form = self.form_class(meta={"_parent_form": self._form})
            formdata = form.meta.wrap_formdata(form, formdata)
            direct = _direct(type(form))
            fields = list(form._fields.items())
            results = []
            for index, obj in self._row_input():
                prefix = f"{self.name}{self._separator}{index}{self._field_separator}"
                for _name, f in fields:
                    f.name = prefix + f.short_name
                if direct is None:  # the row form processes or validates in its own way
                    if isinstance(obj, dict):
                        form.process(formdata, **obj)
                    elif obj is unset_value or obj is None:
                        form.process(formdata)
                    else:
                        form.process(formdata, obj=obj)
                    form.validate()
                else:  # what Form.process and Form.validate do, without their per-row set-up
                    values = obj if isinstance(obj, dict) else {}
                    source = None if isinstance(obj, dict) or obj is unset_value else obj
                    for name, f in fields:
                        if source is not None and hasattr(source, name):
                            f.process(formdata, getattr(source, name))
                        else:
                            f.process(formdata, values.get(name, unset_value))
                    for name, f in fields:
                        f.validate(form, direct.get(name, ()))
                results.append(
                    RowResult(
                        data={f.short_name: f.data for _n, f in fields},
                        raw={f.short_name: (f.type, list(f.raw_data or []), f.data) for _n, f in fields},
                        errors={f.short_name: list(f.errors) for _n, f in fields if f.errors},
                    )
                )
            self._results = results
        return self._results

    @property
    def data(self) -> list[dict[str, Any]]:
        if self._entries is not None:
            return [entry.data for entry in self._entries]
        return [dict(r.data) for r in self.results()]

    def error_names(self) -> dict[str, list[Any]]:
        """Each failing cell's messages by its flat name (rows-3-score), once validated."""
        if not self._validated:
            return {}
        return {
            f"{self.name}{self._separator}{n}{self._field_separator}{name}": messages
            for n, result in enumerate(self.results())
            for name, messages in result.errors.items()
        }

    def _repeats(self, rows: Sequence[dict[str, Any]]) -> dict[int, str]:
        """The rows that name the same thing as an earlier row (by `key`), with their message."""
        first: dict[tuple[Any, ...], int] = {}
        repeats = {}
        for n, row in enumerate(rows):
            named = tuple(str(row.get(name) or "") for name in self.key)
            if not self.key or not any(named):
                continue
            if named in first:
                repeats[n] = str(
                    _l(
                        "Row %(row)s repeats row %(first)s (%(key)s).",
                        row=n + 1,
                        first=first[named] + 1,
                        key=", ".join(named),
                    )
                )
            else:
                first[named] = n
        return repeats

    def validate(
        self, form: Form, extra_validators: Iterable[Callable[..., Any]] | Sequence[Any] = ()
    ) -> bool:
        if self._entries is not None:  # something has built and may have changed the entries
            valid = FieldList.validate(self, form, extra_validators)
            repeats = self._repeats([entry.data for entry in self._entries])
            for n, message in repeats.items():
                cell = self._entries[n].form[self.key[0]]
                cell.errors = [*cell.errors, message]
            if repeats:
                self.errors = [entry.errors for entry in self._entries]
            return valid and not repeats
        results = self.results()
        self._validated = True
        for n, message in self._repeats([r.data for r in results]).items():
            results[n].errors.setdefault(self.key[0], []).append(message)
        self.errors = [r.errors for r in results]
        if not any(self.errors):
            self.errors = []
        self._run_validation_chain(form, itertools.chain(self.validators, extra_validators))
        return len(self.errors) == 0
