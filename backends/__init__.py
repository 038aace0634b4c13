"""The backend services (catalog, pricing, CMS; checkout later), each with its own storage."""
