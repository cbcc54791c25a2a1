"""Personal data: encryption at rest, blind indexes, masking and Chinese identifier checks."""
