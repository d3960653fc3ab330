"""The mapping language: YAML files in a folder → validated OKRs."""
