"""Region catalogue and (later) edge adapters and VCL generation."""

from edge_config.regions import Region, RegionCatalogue, load_regions

__all__ = ["Region", "RegionCatalogue", "load_regions"]
