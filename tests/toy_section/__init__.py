"""A toy analysis section that lives outside the workbench: the proof that a section is added in one place.

Used by ``tests/notebooks/test_toy_section.py``, which declares it through a ``workbench.sections`` entry
point and runs, validates, renders and lists it with no edit under ``workbench/``.
"""
