"""`modelward bom`: the models a cluster or a set of manifests uses, as a CycloneDX ML-BOM."""
