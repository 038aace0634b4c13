"""The catalog service: products, variants, categories, inventory per region, full-text search."""
