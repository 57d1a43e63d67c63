"""Presentation: the text table and diagnostics, JSON, GitHub / SARIF, graph pictures, domain plots,
the JSON Schema of net.yaml, and a Network written back as YAML.  Pure: data in, text or bytes out
(the CLI prints).  May import core, ops and analysis; never torch or typer.
"""
