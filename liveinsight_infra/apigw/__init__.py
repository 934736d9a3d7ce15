"""The REST API's desired definition and its normalised read-back (pure: no AWS calls)."""
