"""Search: query parsing, lexical and vector retrieval, fusion, highlighting, similar papers."""
