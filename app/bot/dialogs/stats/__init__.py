"""/stats dialog, with its chart and CSV export."""
