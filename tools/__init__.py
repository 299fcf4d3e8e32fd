"""Development tools that ship with the repository, not with the hdrkit package."""
