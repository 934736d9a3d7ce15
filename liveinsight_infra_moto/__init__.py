"""The embedded AWS backend behind ``--moto``, ``serve`` and the tests: moto, patched to behave as
AWS where the tool depends on it (docs/moto-gaps.md).

* ``backend``: the in-process moto one process shares (``Stack.from_file(moto=True)``);
* ``fidelity``: the patches of moto's behaviour (policy conditions, Kinesis tags and polling,
  DynamoDB transactions) and the serialising of calls into the in-process backend;
* ``cloudfront_policies``: the CloudFront policy APIs moto lacks;
* ``server``: ``python -m liveinsight_infra_moto.server``, a patched moto server.

The library never imports this package at module level: importing ``liveinsight_infra`` or any
reconciler loads no moto. ``Stack.from_file(moto=True)`` is the one door, and imports ``backend``
when it is called (the contract in ``.importlinter``, checked by ``scripts/test``).
"""
