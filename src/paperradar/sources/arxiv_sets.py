"""arXiv categories ↔ OAI-PMH sets.

arXiv's OAI-PMH interface exposes each archive as a set (`cs`, `math`, `stat`, ...; physics
archives under `physics:`, e.g. `physics:hep-th`) and each category as a subset of its archive
(`cs:cs:LG`, `physics:astro-ph:GA`). People think in categories, so the CLI accepts either and
this module turns a category into the set to ask for.
"""

from __future__ import annotations

# Archives that arXiv groups under the `physics` set.
PHYSICS_ARCHIVES = frozenset({
    "astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nlin",
    "nucl-ex", "nucl-th", "physics", "quant-ph",
})
GROUPS = frozenset({"cs", "econ", "eess", "math", "physics", "q-bio", "q-fin", "stat"})


def set_spec(name: str) -> str:
    """The OAI set for a category, an archive or a set spec (already a spec: returned as is).

    `cs` → `cs`, `cs.LG` → `cs:cs:LG`, `hep-th` → `physics:hep-th`,
    `astro-ph.GA` → `physics:astro-ph:GA`, `physics:hep-th` → `physics:hep-th`.
    """
    name = name.strip()
    if ":" in name or name in GROUPS - {"physics"}:
        return name
    archive, _, sub = name.partition(".")
    if archive in PHYSICS_ARCHIVES:
        prefix = f"physics:{archive}"
    elif archive in GROUPS:
        prefix = f"{archive}:{archive}"
    else:
        raise ValueError(f"unknown arXiv category or set: {name!r}")
    if archive == "physics" and not sub:
        return "physics"
    return f"{prefix}:{sub}" if sub else prefix

