"""A small source that triggers each diagnostic code, and how to fix it.

`mmoc explain CODE` prints the example after the explanation, and `docs/diagnostics.md` is
generated from this table (`mmoc.cli.explain`); a test loads every example and checks it
really produces its code, so the documentation cannot drift from the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    language: str  # "mmo", "yaml", "python" or "shell": what `source` is written in
    source: str
    fix: str = ""


def _mmo(body: str) -> str:
    return "pipeline demo {\n" + body.strip("\n") + "\n}\n"


# The pipeline every test example (MMO9xx) tests.
_TESTED = '''
  input topic
  step research = llm openai/gpt-4o-mini {
    prompt "About {topic}"
  } -> notes
'''.strip("\n")


EXAMPLES: dict[str, Example] = {
    "MMO001": Example("shell", "mmoc check missing.mmo   # no such file",
                      "Check the path; save the file as UTF-8."),
    "MMO002": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
  -> greeting
'''), "Close the step's `{` before `->`."),
    "MMO003": Example("yaml", "- name: demo\n  steps: []\n",
                      "The document must be a mapping: drop the leading `- `."),
    "MMO004": Example("yaml", '''name: demo
steps:
  - name: a
    model: openai/gpt-4o-mini
    prompt: "Hello"
    depend_on: b
''', "Spell the field as the schema does: `depends_on`."),
    "MMO005": Example("yaml", '''name: demo
steps:
  - name: a
    model: openai/gpt-4o-mini
''', "Give the llm step a `prompt`."),
    "MMO006": Example("yaml", '''name: demo
steps:
  - name: a
    model: openai/gpt-4o-mini
    prompt: "Hello"
    max_retries: lots
''', "Give the field a value of its type (here a whole number)."),
    "MMO007": Example("yaml", '''name: demo
steps:
  - name: a
    type: loop
    model: openai/gpt-4o-mini
    prompt: "Hello"
''', "Use llm, transform, parallel_group or conditional."),
    "MMO008": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
    timeout 5x
  } -> greeting
'''), "Write a unit the language knows: `5s`."),
    "MMO009": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini {
    prompt "Hello \\q"
  } -> greeting
'''), "Use a known escape (`\\n`, `\\t`, `\\\\`, `\\\"`) or a triple-quoted string."),
    "MMO010": Example("yaml", '''name: demo
steps:
  - name: a
    model: openai/gpt-4o-mini
    prompt: "Hello"
    max_tokens: 100000000000000000000
''', "Write the number the field needs: each field has its own range (max_tokens is at "
       "most 10,000,000)."),
    "MMO011": Example("mmo", _mmo('''
  input config: json = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
  step a = llm openai/gpt-4o-mini { prompt "Use {config}" } -> answer
'''), "Flatten the value: no schema, default or condition needs more than 32 levels."),
    "MMO012": Example("shell", "mmoc check huge.yaml   # a file of more than 1 MiB",
                      "Split it into several pipelines."),
    "MMO013": Example("yaml", '''name: demo
inputs:
  a: {type: json, default: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]}
  b: {type: json, default: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}
  c: {type: json, default: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}
  d: {type: json, default: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}
steps:
  - name: a
    model: openai/gpt-4o-mini
    prompt: "{a} {b} {c} {d}"
''', "Write the repeated values out, or alias only small ones."),
    "MMO014": Example("mmo", _mmo('''
  output greeting
  step a = llm openai/gpt-4o-mini { prompt "Hello" } -> greeting  # mmoc: ignore[MMO401]
'''), "Remove the suppression: the model is in the catalog, so there is nothing to hide."),
    "MMO101": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini { prompt "Hello" } -> first
  step a = llm openai/gpt-4o-mini { prompt "Again {first}" } -> second
'''), "Rename one of the steps."),
    "MMO102": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini { prompt "Hello" } -> text
  step b = llm openai/gpt-4o-mini { prompt "Bye" } -> text
'''), "Give each step its own output key."),
    "MMO103": Example("mmo", _mmo('''
  input topic
  step a = llm openai/gpt-4o-mini { prompt "About {topic}" } -> topic
'''), "Rename the output key: `-> notes`."),
    "MMO104": Example("yaml", '''name: demo
steps:
  - name: summarize-text
    model: openai/gpt-4o-mini
    prompt: "Hello"
''', "Use an identifier: `summarize_text`."),
    "MMO105": Example("mmo", _mmo('''
  output summary
  step a = llm openai/gpt-4o-mini { prompt "Hello" } -> summry
'''), "Make a step produce `summary`, or list the key that is produced."),
    "MMO106": Example("mmo", _mmo('''
  input topic
  output summary
  step notes = llm openai/gpt-4o-mini { prompt "Notes on {topic}" } -> notes
  step summarize = llm openai/gpt-4o-mini { prompt "Summarize {topic}" } -> summary
'''), "Read `{notes}` somewhere, list it as an output, or remove the step."),
    "MMO107": Example("mmo", _mmo('''
  input topic
  input topic
  step a = llm openai/gpt-4o-mini { prompt "About {topic}" } -> notes
'''), "Declare each input once."),
    "MMO108": Example("mmo", "pipeline demo {\n}\n", "Add a step."),
    "MMO109": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini { prompt "Hello" } -> greeting
  parallel both {
  } -> results
'''), "Put member steps in the group, or remove it."),
    "MMO110": Example("mmo", _mmo('''
  input count: int = "three"
  step a = llm openai/gpt-4o-mini { prompt "Give {count} ideas" } -> ideas
'''), "Give the default the input's type: `= 3`."),
    "MMO201": Example("mmo", _mmo('''
  step research = llm openai/gpt-4o-mini { prompt "Research {summary}" } -> notes
  step summarize = llm openai/gpt-4o-mini { prompt "Summarize {notes}" } -> summary
'''), "Remove one of the dependencies: here `research` should read an input instead."),
    "MMO202": Example("mmo", _mmo('''
  step research = llm openai/gpt-4o-mini { prompt "Research AI" } -> notes
  step summarize = llm openai/gpt-4o-mini {
    prompt "Summarize {notes}"
    after reserch
  } -> summary
'''), "Name an existing step: `after research`."),
    "MMO203": Example("mmo", _mmo('''
  input topic
  step research = llm openai/gpt-4o-mini {
    prompt "Research {topic}"
    when len(topic) > 3
  } -> notes
  step summarize = llm openai/gpt-4o-mini { prompt "Summarize {notes}" } -> summary
'''), "Give `summarize` the same condition, or make `research` unconditional."),
    "MMO204": Example("mmo", _mmo('''
  input topic
  parallel both {
    step pros = llm openai/gpt-4o-mini { prompt "Pros of {topic}" } -> pros
    step cons = llm openai/gpt-4o-mini { prompt "Cons, unlike {pros}" } -> cons
  } -> views
'''), "Move `cons` out of the group so it runs after it."),
    "MMO301": Example("mmo", _mmo('''
  input topic
  step summarize = llm openai/gpt-4o-mini { prompt "Summarize {notes} on {topic}" } -> summary
'''), "Declare `notes` as an input, or add a step that produces it."),
    "MMO302": Example("mmo", _mmo('''
  input user
  step greet = llm openai/gpt-4o-mini { prompt "Greet {user.name}" } -> greeting
'''), "Use a plain `{user}`; prepare the value in a transform step first."),
    "MMO303": Example("mmo", _mmo('''
  step research = llm openai/gpt-4o-mini { prompt "Research {topic}" } -> research_output
  step summarize = llm openai/gpt-4o-mini { prompt "Summarize {research_outptu}" } -> summary
'''), "Write `{research_output}`."),
    "MMO304": Example("mmo", _mmo('''
  input topic
  input style
  step a = llm openai/gpt-4o-mini { prompt "About {topic}" } -> notes
'''), "Read `{style}` in a prompt, or remove the input."),
    "MMO401": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mni { prompt "Hello" } -> greeting
'''), "Check the spelling (`openai/gpt-4o-mini`); a model outside the catalog may still "
          "exist at the provider, so this is a warning unless the name has no provider."),
    "MMO402": Example("mmo", _mmo('''
  step a = llm opnai/gpt-4o-mini { prompt "Hello" } -> greeting
'''), "Use a built-in provider or declare an endpoint with `provider`."),
    "MMO403": Example("yaml", '''name: demo
steps:
  - name: a
    model: "openai/"
    prompt: "Hello"
''', "Write `provider/model`, e.g. `openai/gpt-4o-mini`."),
    "MMO404": Example("yaml", '''name: demo
providers:
  local:
    kind: openai-compatible
    base_url: "localhost:8000"
steps:
  - name: a
    model: local/llama3
    prompt: "Hello"
''', "Give an http(s) URL: `http://localhost:8000/v1`."),
    "MMO405": Example("mmo", _mmo('''
  output greeting
  step a = llm gemini/gemini-1.5-flash { prompt "Hello" } -> greeting
'''), "Move to a current model: `gemini/gemini-2.5-flash`."),
    "MMO501": Example("mmo", _mmo('''
  retry patient = exponential(max_retries: 3, base: 10s, max: 1s)
  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
    retry patient
  } -> greeting
'''), "Keep `max` at or above `base`."),
    "MMO502": Example("mmo", _mmo('''
  retry patient = exponential(max_retries: 3)
  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
    retry patent
  } -> greeting
'''), "Name a declared policy: `retry patient`."),
    "MMO503": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
    fallback []
  } -> greeting
'''), "Remove `fallback`, or list models in it."),
    "MMO504": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
    fallback [openai/gpt-4o-mini, anthropic/claude-haiku-4-5]
  } -> greeting
'''), "Drop the primary model from its own fallback list."),
    "MMO505": Example("yaml", '''name: demo
steps:
  - name: a
    model: openai/gpt-4o-mini
    prompt: "Hello"
    retry:
      max_retries: 2
      retry_on: [rate_limits]
''', "Use a known kind: `rate_limit`."),
    "MMO506": Example("yaml", '''name: demo
steps:
  - name: a
    model: openai/gpt-4o-mini
    prompt: "Hello"
    retry:
      backoff: linear
''', "Use `constant` or `exponential`."),
    "MMO507": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
    temperature 3
  } -> greeting
'''), "Keep temperature between 0 and 2."),
    "MMO508": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini {
    prompt "List three colours as JSON"
    json schema {"type": "lists"}
  } -> colours
'''), "Use a JSON-schema type: object, array, string, number, integer, boolean, null."),
    "MMO601": Example("mmo", _mmo('''
  input topic
  step a = llm openai/gpt-4o-mini {
    prompt "About {topic}"
    when len(subject) > 3
  } -> notes
'''), "Name an input or a produced key in the condition."),
    "MMO602": Example("mmo", _mmo('''
  input topic
  step shout = transform upcase(topic) -> loud
'''), "Use a built-in (`upper`) or a `package.module:function` path."),
    "MMO603": Example("mmo", _mmo('''
  input topic
  step a = llm openai/gpt-4o-mini {
    prompt "About {topic}"
    when size(topic) > 3
  } -> notes
'''), "Use `len()` or `exists()`."),
    "MMO701": Example("python", '''from mmoc import Pipeline, create_transform_step

p = Pipeline(name="demo")
p.add_step(create_transform_step(name="up", transform_fn=lambda ctx: ctx["x"].upper(),
                                 output_key="y"))
# `mmoc compile` of this pipeline reports MMO701
''', "Name the function as `package.module:function` so the generated module can import it."),
    "MMO702": Example("shell", "mmoc check pipeline.mmo   # the compiler itself failed",
                      "Report the bug with the source that triggered it."),
    "MMO820": Example("mmo", _mmo('''
  limit openai/gpt-4o-mini (rpm: 0, concurrency: 2.5)

  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
  } -> greeting
'''), "Give numbers above zero (concurrency a whole number); leave an axis out to leave it "
                      "unlimited."),
    "MMO821": Example("mmo", _mmo('''
  limit openai/gpt-4o-mni (rpm: 500)

  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
  } -> greeting
'''), "Name the model the steps call (`openai/gpt-4o-mini`) or its provider (`openai`)."),
    "MMO822": Example("mmo", _mmo('''
  limit anthropic (rpm: 50)

  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
  } -> greeting
'''), "Limit the provider the steps call (`openai`), or drop the limit."),
    "MMO823": Example("mmo", _mmo('''
  limit openai (rpm: 500)
  limit openai (tpm: 200000)

  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
  } -> greeting
'''), "One statement per model or provider: `limit openai (rpm: 500, tpm: 200000)`."),
    "MMO824": Example("yaml", '''name: demo
budget: -0.5
steps:
  - name: a
    model: openai/gpt-4o-mini
    prompt: "Hello"
''', "A budget is the US dollars a run may spend: `budget: 0.50`."),
    "MMO825": Example("mmo", _mmo('''
  budget $0.001

  step a = llm openai/gpt-4o {
    prompt "Summarize: {text}"
  } -> summary
'''), "Set `max_tokens` on the step (1024 are allowed when it is not set) or raise the "
                      "budget."),
    "MMO703": Example("shell", "mmoc run pipeline.mmo   # step `t = transform mylib:fn(x)`, "
                      "no mylib.py", "Put `mylib.py` beside the pipeline (or on PYTHONPATH) "
                      "and check the function's name."),
    # ---- map steps
    "MMO801": Example("mmo", _mmo('''
  input chunks: list[str]
  step summaries = map chunks in chunks {
    step s = llm openai/gpt-4o-mini { prompt "Summarize {chunks}" } -> summary
  } -> summaries
'''), "Name the item after one element: `map chunk in chunks`."),
    "MMO802": Example("mmo", _mmo('''
  input chunks: list[str]
  step summaries = map chunk in chunks {
    step s = llm openai/gpt-4o-mini { prompt "Summarize {chunk}" } -> summary
  } -> summaries
  step last = llm openai/gpt-4o-mini { prompt "Conclude on {chunk}" } -> conclusion
'''), "Read the map's key, `{summaries}`, the list of results."),
    "MMO803": Example("mmo", _mmo('''
  input chunks: list[str]
  step summaries = map chunk in chunks {
    step s = llm openai/gpt-4o-mini { prompt "Summarize {chunk}" } -> summary
  } -> summaries
  step last = llm openai/gpt-4o-mini { prompt "Conclude on {summary}" } -> conclusion
'''), "Read the map's key, `{summaries}`, the list of every item's `summary`."),
    "MMO804": Example("mmo", _mmo('''
  input document: str
  step summaries = map chunk in document {
    step s = llm openai/gpt-4o-mini { prompt "Summarize {chunk}" } -> summary
  } -> summaries
'''), "Split the text into a list first: "
          "`step chunks = transform split_chunks(document) -> chunks`, then `map chunk in chunks`."),
    "MMO805": Example("mmo", _mmo('''
  input document: str
  step summaries = map chunk in chunks {
    step s = llm openai/gpt-4o-mini { prompt "Summarize {chunk}" } -> summary
  } -> summaries
'''), "Declare `input chunks: list[str]`, or add the step that produces `chunks`."),
    "MMO806": Example("mmo", _mmo('''
  input tickets: list[json]
  step checked = map ticket in tickets {
    step validate = llm openai/gpt-4o-mini { prompt "Check {fields}" } -> verdict
    step extract = llm openai/gpt-4o-mini { prompt "Extract from {ticket}" } -> fields
  } -> verdicts
'''), "Write `extract` above `validate`: a body runs in the order it is written."),
    "MMO807": Example("yaml", '''name: demo
inputs:
  chunks: list[str]
steps:
  - name: summaries
    type: map
    for_each: chunks
    as: chunk
    steps: []
''', "Put the step(s) to run per item under `steps`."),
    "MMO808": Example("mmo", _mmo('''
  input chunks: list[str]
  step summaries = map chunk in chunks (on_error: ignore) {
    step s = llm openai/gpt-4o-mini { prompt "Summarize {chunk}" } -> summary
  } -> summaries
'''), "Use `on_error: skip` to leave failed items out, or `collect` to keep an error record."),
    "MMO809": Example("mmo", _mmo('''
  input chunks: list[str]
  step summaries = map chunk in chunks {
    collect sumary
    step s = llm openai/gpt-4o-mini { prompt "Summarize {chunk}" } -> summary
  } -> summaries
'''), "Collect a key a body step produces: `collect summary`."),
    "MMO810": Example("mmo", _mmo('''
  input chunks: list[str]
  step s = llm openai/gpt-4o-mini { prompt "Introduce {chunks}" } -> intro
  step summaries = map chunk in chunks {
    step s = llm openai/gpt-4o-mini { prompt "Summarize {chunk}" } -> summary
  } -> summaries
'''), "Give the body's step a name of its own."),
    "MMO840": Example("mmo", _mmo('''
  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
    cache forever
  } -> greeting
'''), "Write `cache on` to keep replies until the cache is cleared, or `cache ttl: 1h`."),
    "MMO841": Example("mmo", _mmo('''
  default cache ttl: 0s
  step a = llm openai/gpt-4o-mini {
    prompt "Hello"
  } -> greeting
'''), "Give a time to live greater than 0, or `cache on` for no expiry."),
    # ---- tests: each example is one pipeline with one test
    "MMO901": Example("mmo", _mmo(_TESTED + '''
  test t {
    input topic = "tea"
    reply reserch = "Tea is a drink."
  }
'''), "Name the llm step as the pipeline does: `reply research = ...`."),
    "MMO902": Example("mmo", _mmo(_TESTED + '''
  step loud = transform upper(notes) -> shout
  test t {
    input topic = "tea"
    reply loud = "TEA"
  }
'''), "Fix the reply of the llm step the transform reads: `reply research = ...`."),
    "MMO903": Example("mmo", _mmo(_TESTED + '''
  test t {
    input topic = "tea"
    expect summary contains "tea"
  }
'''), "Expect a key a step produces: `expect notes contains \"tea\"`."),
    "MMO904": Example("mmo", _mmo(_TESTED + '''
  test t {
    expect notes contains "tea"
  }
'''), 'Give the input: `input topic = "tea"`.'),
    "MMO905": Example("mmo", _mmo(_TESTED + '''
  test t {
    input topic = "tea"
    input tone = "dry"
  }
'''), "Give only inputs the pipeline declares (or declare `input tone`)."),
    "MMO906": Example("mmo", _mmo(_TESTED + '''
  test t {
    input topic = "tea"
    expect notes matches r"(tea"
  }
'''), 'Close the group: `r"(tea)"`.'),
    "MMO907": Example("mmo", _mmo(_TESTED + '''
  test t {
    input topic = "tea"
    expect notes valid schema {"type": "text"}
  }
'''), 'Use a JSON-schema type: `{"type": "string"}`.'),
    "MMO908": Example("mmo", _mmo(_TESTED + '''
  test t {
    input topic = "tea"
    expect step reserch ran
  }
'''), "Name a step of the pipeline: `expect step research ran`."),
    "MMO909": Example("mmo", _mmo(_TESTED + '''
  test t {
    input topic = "tea"
  }
  test t {
    input topic = "coffee"
  }
'''), "Give each test its own name."),
    "MMO910": Example("mmo", _mmo(_TESTED + '''
  test t {
    input topic = "tea"
    expect notes <= $0.01
  }
'''), "A dollar amount bounds the run's cost: `expect cost <= $0.01`."),
    "MMO911": Example("mmo", _mmo('''
  input topic
  input count: int
  step research = llm openai/gpt-4o-mini {
    prompt "Name {count} facts about {topic}"
  } -> notes
  test t {
    input topic = "tea"
    input count = "three"
  }
'''), "Give the input a value of its type: `input count = 3`."),
}

# Examples that a test can load and check for their code (the others need a missing file,
# a Python session, or a compiler bug).
CHECKABLE = tuple(code for code, ex in EXAMPLES.items() if ex.language in ("mmo", "yaml"))
