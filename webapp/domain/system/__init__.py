"""The indicator system and its forming: declarations, the draft, comments and their handling, approval, freezing and revisions; its Excel import and export."""
