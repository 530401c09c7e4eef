"""Pure building blocks of the API server: schema validation, patches, selectors."""
