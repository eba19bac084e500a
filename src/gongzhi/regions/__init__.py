"""Administrative divisions of China, grid cells, urban-rural class, address resolution."""
