"""Infrastructure every feature uses: settings, database, logging, clock, calendar, locks, tables, JSON, CLI kit."""
