"""SpiNNaker: energy models and board configuration."""
