"""The offender register: people, their address history, their cases, and who leads each case.

Every address is resolved when it is entered and the resolution (force, district, BCU, ward,
distance to the boundary, near-boundary flag, method, boundary set) is stored on the address row,
so an old answer can be explained after the boundaries change. A case's lead force is decided by
the rule table (``coordination.register.rules``) and carries its explanation.

Services are keyword-only, take an explicit ``Session``, record an audit event for every write in
the same transaction, and return ``XPublic`` models or frozen dataclasses."""
