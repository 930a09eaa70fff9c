"""Everything sPyNNaker in one place: the backend (:mod:`.backend`), its native local-only
connectors (:mod:`.connectors`), the board's constants (:mod:`.hardware`), the configuration
file (:mod:`.configuration`), checks and virtual-board mapping (:mod:`.check`), the 16-bit
weights and ring buffers it uses (:mod:`.weights`), and the parser of its own energy report
(:mod:`.energy_report`). Only :mod:`.backend` imports sPyNNaker (when a
board, real or virtual, is used); :mod:`.check` maps through it."""
