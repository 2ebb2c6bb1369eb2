"""The life of a case after registration: re-assessment, OGRS3 inputs, closure and reopening.

Every change goes through a keyword-only service taking an explicit ``Session``
(:mod:`coordination.cases.updates`): the permission table is checked first (``case.update``,
``case.close``), the case row is locked and version-checked, and the change is written with an
audit event (category ``alteration``) and a ``case_event`` row in the same transaction. What a
caller types is parsed by :mod:`coordination.cases.inputs`.
"""
