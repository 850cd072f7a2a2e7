"""Events: the conferences campaigns and letters are about (WCIT-12, WTPF-13, later ones)."""
