"""The process layer: user tasks (drafts, claims, completion), the year's cycle and calendar, the office monitor, the inbox, notifications and the role guides."""
