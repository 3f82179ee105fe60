"""Topics: the papers' embeddings clustered into broad areas and fine topics, named by their
distinctive words, laid out as a map, and followed week by week to see what is rising.

`cluster`, `naming`, `layout` and `rising` are pure functions over arrays; only `build` reads
and writes the store (the job behind `paperradar topics rebuild`).
"""
