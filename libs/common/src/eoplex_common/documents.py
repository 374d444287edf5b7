"""The one name for a JSON object held as plain dicts."""

from typing import Any

# A stored MongoDB document, an openEO or STAC response, a Kubernetes object: a
# mapping from field names to JSON values, as PyMongo and `json.loads` return them.
Document = dict[str, Any]
