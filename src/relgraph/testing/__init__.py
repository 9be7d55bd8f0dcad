"""Helpers that tests, benchmarks and users share (PyG's ``torch_geometric.testing``):

* :mod:`~relgraph.testing.graphs`: small seeded graphs with a learnable signal and small plans;
* :mod:`~relgraph.testing.retail`: a synthetic retail database;
* :mod:`~relgraph.testing.synthetic_arrays`: random store arrays for sampler tests;
* :mod:`~relgraph.testing.reference_sampler`: a slow per-seed reference neighbor sampler;
* :mod:`~relgraph.testing.pql_fuzz`: random PQL queries for parser fuzzing;
* :mod:`~relgraph.testing.postgres`: a temporary PostgreSQL server.
"""
