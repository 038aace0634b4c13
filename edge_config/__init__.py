"""The region catalogue, VCL generation and the Varnish runner."""

from edge_config.regions import Edge, Region, RegionCatalogue, load_regions

__all__ = ["Edge", "Region", "RegionCatalogue", "load_regions"]
