"""Letter templates and the letters filled from them."""
