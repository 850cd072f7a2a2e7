"""Documents made from letters: HTML, PDF, DOCX and plain text."""
