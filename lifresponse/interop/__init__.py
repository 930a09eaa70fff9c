"""Exchange with other tools: NIR graphs (:mod:`lifresponse.interop.nir`)."""
