"""Joint review meeting packs: content from a stored meeting, rendered as PDF, XLSX or Markdown."""
