"""Documents derived from the manifest: the confidentiality policy page and the Art. 30 record (RoPA)."""

from charte.render.policy import SECTIONS, render_policy
from charte.render.ropa import COLUMNS, export_ropa, ropa_columns, ropa_rows

__all__ = ["COLUMNS", "SECTIONS", "export_ropa", "render_policy", "ropa_columns", "ropa_rows"]
