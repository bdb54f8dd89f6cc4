"""The evaluation rounds: opening, self-reports, scores, on-site verification, review and returns, approval, publication and the year's aggregation."""
