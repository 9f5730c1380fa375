"""The front ends: source text in, IR plus diagnostics out. They never check or generate."""
