"""UDF processes: the sandbox that confines them, their entry point, their runtime and
the scratch directories they write in. Kept light: a UDF process imports this package
before it is confined."""
