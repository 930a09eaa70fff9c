"""The exact simulator: NEST's ``iaf_psc_exp`` / ``iaf_psc_delta`` update as one functional
neuron step in torch (:mod:`.neuron_step`), the deployment backend built on it
(:mod:`.backend`), the torch device checks (:mod:`.device`) and the CPU step loop compiled by Numba
(:mod:`.step_kernel`). Importing this package imports nothing; torch is imported by the
modules."""
