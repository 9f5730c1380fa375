"""Transform functions that golden cases name by import path (`case_support.text:...`)."""
