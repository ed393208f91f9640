"""report: error metrics and tables, 3D views (HTML), the Learn page's physics and the batch
tables."""
