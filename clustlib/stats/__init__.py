"""Statistics in numpy alone: Hartigan's dip with its modal triangle (:mod:`clustlib.stats.dip`, for DipEncoder)."""

from clustlib.stats.dip import dip_gradient, dip_statistic, mirrored_modal_interval

__all__ = ["dip_statistic", "dip_gradient", "mirrored_modal_interval"]
