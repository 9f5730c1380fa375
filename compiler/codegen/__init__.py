"""Code generation: lowering the IR to view models, rendering the module, the graph output."""
