"""Trained networks as spiking networks: the network file, topology, the PyNN builder."""
