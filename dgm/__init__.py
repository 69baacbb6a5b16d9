"""dgm: the evolution engine. Importing it must stay cheap: no docker, litellm or tree-sitter."""
