"""Geography for crossforce: postcodes, coordinates, boundary packs and the resolver.

This package knows nothing of offenders, cases or users. It answers one question well:
*which force area, district, BCU and ward is this point in, and how close is it to a line?*
"""

__all__: list[str] = []
