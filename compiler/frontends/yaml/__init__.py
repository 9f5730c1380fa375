"""The YAML front end: a position-keeping reader, the schema's sections, the printer."""
