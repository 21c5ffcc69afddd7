"""The repository's scripts, run as files by the Makefile and imported as modules by tests and bench."""
