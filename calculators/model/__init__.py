"""The performance model of one replica's step, one concept per module; arrows point down only.

- :mod:`~calculators.model.efficiency`: achieved fraction of peak by op and shape (the catalog's kernel curves)
- :mod:`~calculators.model.collectives`: alpha-beta all-reduce and all-to-all, two-micro-batch overlap
- :mod:`~calculators.model.moe`: distinct experts per step, the busiest expert-parallel rank
- :mod:`~calculators.model.attention`: KV bytes and attention FLOPs of decode and of prefill chunks
- :mod:`~calculators.model.ops`: a step's named operations (the :class:`Op` record) and the registry of blocks
- :mod:`~calculators.model.step`: the vectorised step time of a replica (F4-F9), decode plus prefill tokens

Serving a workload (continuous batching, chunked prefill, a separate prefill pool) sits above this package in
:mod:`calculators.serving`; sizing, sweeps and validation above that.
"""
