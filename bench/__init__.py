"""Kesu's data generator and benchmarks (``kesu bench generate``, ``kesu bench sweep``).

Not part of the product: nothing in ``kesu`` imports this package except the ``bench``
management command. See README.md.
"""
