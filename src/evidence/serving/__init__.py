"""The served dashboard's server layer (used by :mod:`evidence.serve`).

- :mod:`~evidence.serving.kernels`: the kernel cap, the cap-aware preheated pool, and which
  viewer owns which kernel;
- :mod:`~evidence.serving.handlers`: the routes a viewer reaches (the app page, its kernel's
  websocket and shutdown, friendly error and "room is full" pages);
- :mod:`~evidence.serving.app`: ``EvidenceVoila``, Voila's application with those in place.

See docs/serving.md.
"""
