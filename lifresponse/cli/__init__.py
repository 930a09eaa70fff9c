"""The ``lifresponse`` command line: one module per command group (parsing and printing only;
the work is the library's, through :mod:`lifresponse.workflow`), assembled in :mod:`.app`."""

from lifresponse.cli.app import main

__all__ = ["main"]
