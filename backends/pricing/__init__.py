"""The pricing service: a price book per region, list and sale prices per SKU, timed promotions."""
