"""The built-in analysis sections, one module each (see :mod:`analysis.contract`).

Each module declares ``SECTION`` (a :class:`analysis.contract.Section`) with its summary model and
parameters; the workbench's registry (``workbench.sections``) lists them with the sections that other
packages declare through the ``workbench.sections`` entry-point group.
"""
