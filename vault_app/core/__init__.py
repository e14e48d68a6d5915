"""The Qt-free core: age v1 format, STREAM payload, recipients, keys, vault logic.

Nothing under this package may import Qt (enforced by tests/test_architecture.py).
"""
