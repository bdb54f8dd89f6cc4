"""The domain: what the system does, as verbs on domain objects, callable from a view, a task's form,
the CLI, a test or another verb alike. One package per domain:

- `system`: the indicator system and its forming (declarations, comments, approval, revisions);
- `rounds`: the evaluation rounds (self-reports, scores, verification, review, approval, feedback);
- `results`: results, rankings, dashboards and feedback reports;
- `process`: the process layer (tasks, the year's cycle and its processes, the monitor, the inbox);
- `accounts`: sign-in, passwords and API tokens.

Each package holds its verbs (`operations`), its read-only queries (`queries`) and the thin adapters
that turn a task's form values into verb calls (`adapters`, registered in `register`). Verbs take
the acting user, flush and never commit; they raise `errors.DomainError`s.

Shared by all of them, at this level: `errors` (the refusals), `audit` (the append-only record),
`notifications` (what each user is told), `localtime` (Beijing days), `numbers` and `sheets`
(number parsing and Excel styling), `register` (plugging the adapters into the process layer).
The packages import one way (rounds → results → process → system, accounts alone), and
`lint-imports` (in `make lint`) fails a cycle.
"""
