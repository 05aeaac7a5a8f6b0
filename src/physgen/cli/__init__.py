"""The ``physgen`` command line: one module per sub-command, thin over the library."""
