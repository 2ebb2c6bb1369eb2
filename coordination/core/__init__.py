"""Infrastructure every feature uses.

Settings, the database engine, logging, the clock, working days, locks, spreadsheet tables, the
JSON encoder and the kit every command group shares.
"""
