"""`test` blocks run: finding them (`collect`), running them (`runner`), judging each
expectation (`evaluate`, `judge`) and reporting (`report`). `mmoc test` (cli/test.py) and the
pytest plugin (`mmoc.pytest_plugin`) are the two ways in; docs/testing.md describes both."""
