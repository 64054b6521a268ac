"""Loading, cleaning, chunking and embedding articles into Chroma and a lexical index."""
