"""Policy CRDs: parsing into `structs.policy`, the in-memory index, and status conditions."""
