"""The built-in poll classes, one module each; `netmon.pollers.registry.BUILTIN` lists them."""
