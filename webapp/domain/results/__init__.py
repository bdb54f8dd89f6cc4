"""Results and rankings computed from the rounds, who may see them, the dashboards, and the feedback reports (PDF and Excel)."""
