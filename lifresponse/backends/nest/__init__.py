"""NEST through PyNN, with NEST's own calls where PyNN's path is slow or lacking
(:mod:`.backend`)."""
