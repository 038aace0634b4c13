"""The invalidator service: events planned into purges, the purge log, one purger per region, the edges."""
