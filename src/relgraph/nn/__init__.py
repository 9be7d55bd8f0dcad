"""Neural network modules: temporal encoding, the heterogeneous GNN and graph transformer, heads."""
