"""What NEST and sPyNNaker share, written once against the PyNN API: the backend base class
(:mod:`.backend`), building a network file as populations and projections (:mod:`.building`),
and presenting blocks of images in one continuing simulation (:mod:`.presenting`)."""
