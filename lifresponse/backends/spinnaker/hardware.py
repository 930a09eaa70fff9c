"""What a SpiNNaker-1 board is, as lifresponse uses it: neurons per core, cores per board,
weight bits, timesteps, and the power constants of sPyNNaker's own energy report. Plain
numbers, no sPyNNaker import: the energy model and the checks read them without a simulator.
"""

NEURONS_PER_CORE = 256  # IF_curr_exp with ordinary connectors (the backend sets it at start)
APPLICATION_CORES_PER_CHIP = 16  # 18 cores, one monitor, one spare
APPLICATION_CORES = {5: 48 * APPLICATION_CORES_PER_CHIP,  # SpiNN-5: 48 chips
                     3: 4 * APPLICATION_CORES_PER_CHIP}   # SpiNN-3: 4 chips
SUPPORTED_TIMESTEPS = (1.0, 0.1)  # ms
WEIGHT_BITS = 16  # synaptic weights are 16-bit fixed point

# sPyNNaker's SpiNNaker-1 constants (spinn_machine.version.version_spin1)
WATTS_PER_IDLE_CHIP = 0.35
WATTS_PER_ACTIVE_CORE = 0.034
JOULES_PER_PACKET = 1e-9  # 25 pJ per router bit x 40 bits
