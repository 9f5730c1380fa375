"""The one registry of diagnostic codes (as mypy and ruff keep theirs).

Ranges: MMO0xx files and syntax, MMO1xx names and structure, MMO2xx the dependency graph,
MMO3xx keys and templates, MMO4xx models and providers, MMO5xx policies, MMO6xx conditions and
transforms, MMO7xx compiling, MMO80x map steps, MMO82x rate limits and budgets, MMO84x the
response cache, MMO9xx tests. A code, once published, keeps its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Code:
    code: str
    slug: str
    severity: Literal["error", "warning", "info"]
    summary: str
    explanation: str


def _codes(*items: Code) -> dict[str, Code]:
    return {c.code: c for c in items}


CODES: dict[str, Code] = _codes(
    # ---- files and syntax
    Code("MMO001", "unreadable-file", "error", "the file cannot be read",
         "The file does not exist, is not readable, or is not valid UTF-8."),
    Code("MMO002", "syntax-error", "error", "the source does not parse",
         "The text is not valid .mmo (or YAML) syntax at the position shown."),
    Code("MMO003", "not-a-mapping", "error", "a YAML document or node is not a mapping",
         "A pipeline YAML document must be a mapping with `name` and `steps`; "
         "each step must be a mapping too."),
    Code("MMO004", "unknown-field", "error", "a field the schema does not know",
         "Unknown keys are not ignored: a misspelt `depends_on` would silently drop an edge."),
    Code("MMO005", "missing-field", "error", "a required field is missing",
         "Pipelines need a name; steps need a name; llm steps need a model and a prompt; "
         "transforms need a function."),
    Code("MMO006", "wrong-type", "error", "a field has the wrong type",
         "The value given does not have the type the field takes (a number, a string, a list)."),
    Code("MMO007", "unknown-step-type", "error", "unknown step type",
         "A step's type must be one of llm, transform, parallel_group, conditional, map."),
    Code("MMO008", "bad-duration", "error", "a duration is not valid",
         "Durations are a number with a unit: 500ms, 2s, 1m, 1h (or plain seconds in YAML)."),
    Code("MMO009", "bad-string", "error", "a string literal is not valid",
         "An escape sequence in a string is unknown, or a string is not terminated."),
    Code("MMO010", "number-too-large", "error", "a number is too large",
         "Every number in a pipeline (retries, durations, temperature, max tokens, limits, "
         "input defaults, numbers in a schema or a condition) is at most 2**53 - 1 = "
         "9,007,199,254,740,991 in magnitude, the range JSON keeps exact in any language. "
         "Each field then has its own narrower range (MMO501, MMO507)."),
    Code("MMO011", "nested-too-deeply", "error", "lists, objects or conditions nest too deeply",
         "A value (a JSON schema, an input default) nests lists and objects at most 32 levels "
         "deep, and a condition nests operators at most 32 levels deep; a whole YAML document "
         "nests at most 64 levels from its root. Deeper nesting is never needed, and the "
         "generated Python module could not hold it."),
    Code("MMO012", "source-too-large", "error", "the source is too large",
         "A pipeline source is at most 1 MiB (1,048,576 bytes of UTF-8). Real pipelines are "
         "a few kilobytes; split a larger one into several pipelines."),
    Code("MMO013", "alias-expansion", "error", "YAML aliases repeat too much",
         "YAML aliases (`*name`) and merge keys (`<<: *name`) may repeat at most 10,000 "
         "nodes in one document, counting each use of an alias as a copy of what it names. "
         "Like the limits of safe YAML loaders, this stops a few hundred bytes from expanding "
         "to gigabytes (\"billion laughs\")."),
    Code("MMO014", "unused-suppression", "warning", "an inline suppression suppresses nothing",
         "A `# mmoc: ignore[CODE]` comment covers the diagnostics that start on its line (or, "
         "alone on a line, on the next line; on a step's first line, the whole step). One "
         "that covers no diagnostic of the codes it names, names an unknown code, or names an "
         "error (errors cannot be suppressed: the module could not be generated) is reported, "
         "so stale suppressions do not hide the next real problem."),
    # ---- names and structure
    Code("MMO101", "duplicate-step", "error", "two steps have the same name",
         "Step names must be unique in a pipeline, group members included."),
    Code("MMO102", "duplicate-output", "error", "two steps produce the same output key",
         "Each key is produced by one step; otherwise which value a reader sees depends on timing."),
    Code("MMO103", "output-shadows-input", "error", "an output key has an input's name",
         "A step may not produce a key the pipeline takes as an input."),
    Code("MMO104", "not-an-identifier", "error", "a name is not a Python identifier",
         "Step names, keys, inputs, outputs and policy names become Python names in the generated "
         "module; they must be identifiers and not keywords."),
    Code("MMO105", "undeclared-output", "error", "a declared output is produced by no step",
         "Every name in `output` must be the output key of some step (or an input)."),
    Code("MMO106", "unused-output", "warning", "a step's output is never used",
         "Nothing reads this key and it is not a pipeline output: the step's work is lost."),
    Code("MMO107", "duplicate-definition", "error", "a name is defined twice",
         "Inputs, aliases, policies and endpoints must each have unique names."),
    Code("MMO108", "empty-pipeline", "error", "the pipeline has no steps",
         "A pipeline needs at least one step."),
    Code("MMO109", "empty-group", "error", "a parallel group has no members",
         "A parallel group needs at least one member step."),
    Code("MMO110", "bad-input", "error", "an input declaration is not valid",
         "Input types are str, int, float, bool and json; a default must have the input's type."),
    # ---- the dependency graph
    Code("MMO201", "dependency-cycle", "error", "the dependencies form a cycle",
         "A step depends, directly or through others, on itself: no order can run it."),
    Code("MMO202", "unknown-dependency", "error", "a dependency names no step",
         "`after` / `depends_on` must name a step of the pipeline."),
    Code("MMO203", "conditional-dependency", "warning",
         "an unconditional step needs the output of a conditional step",
         "When the condition is false the producer is skipped, and so is this step."),
    Code("MMO204", "sibling-dependency", "error",
         "a parallel group member depends on a sibling member",
         "Members of a parallel group run at the same time, so none may read another's output "
         "or run after another. Move the dependent step out of the group, after it."),
    # ---- keys and templates
    Code("MMO301", "missing-key", "error", "a placeholder names no input and no output",
         "Every `{key}` must be a pipeline input or the output key of some step."),
    Code("MMO302", "invalid-placeholder", "error", "a placeholder is not `{name}`",
         "Only `{name}` is a placeholder; `{{` and `}}` are literal braces. Attribute and index "
         "access, conversions and format specs are not allowed."),
    Code("MMO303", "possible-typo", "error", "a free variable is a near miss of a produced key",
         "With no declared inputs, free variables become inputs; one that nearly matches a "
         "produced key is almost certainly a typo."),
    Code("MMO304", "unused-input", "warning", "a declared input is never read",
         "Nothing reads this input."),
    # ---- models and providers
    Code("MMO401", "unknown-model", "warning", "a model id is not in the catalog",
         "The model is not in mmoc's catalog; it may still exist at the provider, so this is "
         "a warning, with a \"did you mean\" from the catalog. A bare name with no `provider/` "
         "that the catalog does not know is a warning too, but nothing says which provider "
         "would serve it: a real run fails that step with a configuration error (a --mock run "
         "answers it). Write `provider/model` for a model outside the catalog."),
    Code("MMO402", "unknown-provider", "error", "a model's provider is unknown",
         "Providers are openai, anthropic, gemini, ollama, mock, or a declared endpoint."),
    Code("MMO403", "bad-model-id", "error", "a model id is malformed",
         "Model ids are `provider/model`, optionally with `?option=value` for the mock provider."),
    Code("MMO404", "bad-endpoint", "error", "a provider endpoint is not valid",
         "Endpoints need a name, kind openai-compatible, and an http(s) base URL."),
    Code("MMO405", "retired-model", "warning", "the provider has retired this model",
         "The model's family is in the catalog as retired: its provider no longer serves it, "
         "so a real run fails that step. The catalog records the date of retirement; move to "
         "a current model (the help names one)."),
    # ---- policies
    Code("MMO501", "bad-policy-value", "error", "a policy number is out of range",
         "Retry counts and delays must be non-negative and sensible; a breaker threshold is at "
         "least 1; max delay must not be below the base delay."),
    Code("MMO502", "unknown-policy", "error", "a step names a policy that is not defined",
         "Named retry and breaker policies must be declared before use."),
    Code("MMO503", "empty-fallback", "error", "a fallback list is empty", "Omit it instead."),
    Code("MMO504", "fallback-is-primary", "error", "a fallback model is the primary model",
         "Falling back to the same model adds nothing; retry covers that."),
    Code("MMO505", "unknown-retry-kind", "error", "`retry_on` names an unknown error kind",
         "Kinds: rate_limit, overloaded, server_error, timeout, connection, bad_response, "
         "stream_interrupted, invalid_output."),
    Code("MMO506", "bad-backoff", "error", "backoff or jitter is not a known name",
         "Backoff is constant or exponential; jitter is none or full."),
    Code("MMO507", "bad-step-value", "error", "a step parameter is out of range",
         "Timeouts must be positive; temperature between 0 and 2; max tokens at least 1; a "
         "group's concurrency at least 1."),
    Code("MMO508", "bad-schema", "error", "an output schema is not valid",
         "Output schemas use the JSON-schema subset: type, properties, required, items, enum."),
    # ---- conditions and transforms
    Code("MMO601", "bad-condition", "error", "a condition is not valid",
         "Conditions use comparisons, and/or/not, contains, len(), exists(), literals and keys."),
    Code("MMO602", "bad-transform", "error", "a transform is not an import path or built-in",
         "Transforms name `package.module:function` or a built-in: upper, lower, strip, json, ..."),
    Code("MMO603", "unknown-function", "error", "a condition calls an unknown function",
         "Conditions may call len() and exists() only."),
    # ---- rate limits and budgets
    Code("MMO820", "bad-limit-value", "error", "a rate limit is not a number > 0",
         "`limit MODEL (rpm: N, tpm: N, concurrency: N, burst: N)` takes numbers above zero "
         "(concurrency and burst whole numbers), and at least one of them. An axis left out "
         "is unlimited."),
    Code("MMO821", "unknown-limit-target", "error", "a limit names no known model or provider",
         "A limit names a provider (`openai`), a model (`openai/gpt-4o`) or a catalog name "
         "(`gpt-4o`), without `?options`: it covers every call to it. A name that is neither "
         "is most likely a typo, and the calls it meant would run unlimited."),
    Code("MMO822", "unused-limit", "warning", "a limit names a model no step calls",
         "No step or fallback of the pipeline calls the model or provider the limit names, so "
         "it limits nothing in this pipeline (it still joins the process's limiters)."),
    Code("MMO823", "duplicate-limit", "error", "a model or provider is limited twice",
         "Each model or provider takes one `limit` statement; give every axis in it."),
    Code("MMO824", "bad-budget", "error", "a budget is not an amount >= 0",
         "`budget $0.50` (YAML `budget: 0.50`) is the US dollars one run may spend."),
    Code("MMO825", "budget-too-small", "warning", "no call of a step fits in the budget",
         "A call is estimated before it is made from its prompt (about four characters a "
         "token) and its `max_tokens` (1024 when not set), at the model's price. When even "
         "the step's prompt without its placeholders' values and `max_tokens` cost more than "
         "the budget, the step is never called and every run ends `budget_exceeded`."),
    # ---- compiling
    Code("MMO701", "inline-callable", "error", "a transform is a Python callable, not a path",
         "A pipeline built in Python with a lambda runs in-process but cannot be written to a "
         "file: give the transform as `package.module:function`."),
    Code("MMO702", "internal-error", "error", "the compiler failed",
         "This is a bug in mmoc; please report it with the source that caused it."),
    Code("MMO703", "transform-import", "error", "a transform's function cannot be imported",
         "`mmoc run` imports each `package.module:function` transform before running, from the "
         "pipeline's folder, the current directory and `sys.path` (as running a script would). "
         "The module is missing, fails to import, or has no such function. `mmoc check` and "
         "`mmoc compile` do not import user code, so only a run reports this (exit 1)."),
    # ---- map steps
    Code("MMO801", "map-item-shadows-key", "error", "a map step's item is named like a key",
         "Inside a map body the item and every key of the pipeline are visible; an item named "
         "like an input, a step's output or a key of its own body would hide one of them."),
    Code("MMO802", "map-item-outside", "error", "a map step's item is read outside its body",
         "The item exists once per item, only while the body runs. After the map, read the "
         "map's own key: the list of the body's results."),
    Code("MMO803", "map-body-key-outside", "error", "a map body's key is read outside the body",
         "A body step's output exists once per item, inside the body. Outside, read the map's "
         "key (the list of results); `collect KEY` chooses which body key each result is."),
    Code("MMO804", "map-not-a-list", "error", "a map step iterates over a key that is no list",
         "A map step iterates over a list: an input typed list[str], list[int], list[json] (or "
         "json), a `json schema` reply whose type is \"array\", or a transform returning a "
         "list (lines, nonempty_lines, split_chunks, flatten, json_list). Where the key's type "
         "is known and is not a list, the map could never run."),
    Code("MMO805", "map-unknown-list", "error", "a map step iterates over an unknown key",
         "`for_each` (`map ITEM in KEY`) names a key that is neither an input nor the output "
         "of any step."),
    Code("MMO806", "map-body-order", "error", "a map body reads a key produced later in it",
         "A map body is written in the order it runs: each body step reads the item, outer "
         "keys and the keys of the body steps above it, and the last step gives the result."),
    Code("MMO807", "map-empty-body", "error", "a map step has no steps in its body",
         "A map step runs its body once per item; an empty body has nothing to run."),
    Code("MMO808", "map-bad-option", "error", "a map step's option is not valid",
         "`on_error` is fail, skip or collect; `concurrency` and `limit` are whole numbers of "
         "at least 1."),
    Code("MMO809", "map-unknown-collect", "error", "`collect` names no key of the body",
         "`collect KEY` makes one body key each item's result; it must be the output key of "
         "a step in the body."),
    Code("MMO810", "map-body-name-clash", "error", "a map body reuses an outer name or key",
         "Step names are unique across the whole pipeline, bodies included, and a body step's "
         "key must not repeat a key of the enclosing pipeline (it would hide it)."),
    # ---- the response cache (docs/cache.md)
    Code("MMO840", "bad-cache-setting", "error", "a cache setting is not one mmoc knows",
         "A step (or `default`) caches with `cache ttl: 1h` (each reply is served again for an "
         "hour), `cache on` (until the cache is cleared) or `cache off` (this step is not "
         "cached, whatever the default says). In YAML: `cache: {ttl: 1h}`, `cache: true` or "
         "`cache: false`. Only llm steps and the pipeline default take a cache setting."),
    Code("MMO841", "bad-cache-ttl", "error", "a cache time to live is out of range",
         "A cache's time to live is a duration greater than 0 and at most 365 days."),
    # ---- tests (`test` blocks, docs/testing.md)
    Code("MMO901", "test-reply-unknown-step", "error", "a test fixes the reply of no such step",
         "A test's `reply STEP = ...` names an llm step of the pipeline; a misspelt name would "
         "leave the real step calling its model."),
    Code("MMO902", "test-reply-not-llm", "error", "a test fixes the reply of a step with no model",
         "Only llm steps call a model, so only they take a fixed reply; a transform's output "
         "comes from its function."),
    Code("MMO903", "test-unknown-key", "error", "a test expects a key nothing produces",
         "An expectation names an output key (or an input) of the pipeline; a key no step "
         "produces would always be missing."),
    Code("MMO904", "test-missing-input", "error", "a test does not give a required input",
         "A test gives every input the pipeline requires (inputs with a default may be left "
         "out), as a run would have to."),
    Code("MMO905", "test-unknown-input", "error", "a test gives an input the pipeline lacks",
         "A test's `input NAME = ...` names an input of the pipeline."),
    Code("MMO906", "test-bad-regex", "error", "a test's regular expression is not valid",
         "`expect KEY matches r\"...\"` takes a Python regular expression (`re` syntax); it is "
         "searched for anywhere in the output."),
    Code("MMO907", "test-bad-schema", "error", "a test's JSON schema is not valid",
         "`expect KEY valid schema {...}` uses the JSON-schema subset output schemas use: "
         "type, properties, required, items, enum."),
    Code("MMO908", "test-unknown-step", "error", "a test expects the status of no such step",
         "`expect step NAME ran|skipped|failed` names a step of the pipeline."),
    Code("MMO909", "duplicate-test", "error", "two tests have the same name",
         "Test names pick tests (`mmoc test -k`) and name them in reports: each is unique."),
    Code("MMO910", "bad-expectation", "error", "an expectation is not valid",
         "Expectations compare an output (== != < <= > >= contains), match a regex, check a "
         "schema or a length (`len(key) <= 400`), a step's status (ran, skipped, failed), the "
         "run's cost (`cost <= $0.01`) or latency (`latency <= 2s`), or ask a model "
         "(`judged by MODEL \"criteria\"`)."),
    Code("MMO911", "test-input-type", "error", "a test gives an input a value of the wrong type",
         "A test's input values are checked as a run checks its inputs: a `str` input takes a "
         "string, an `int` a whole number, a `float` a number, a `bool` true or false, `json` "
         "any value."),
)
