"""Code shared by the LiveInsight Lambda handlers (packaged with each of them)."""
