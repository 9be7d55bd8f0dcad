"""The ``relgraph`` command line."""
