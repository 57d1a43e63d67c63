"""nn.Module -> Network: the trace of forward with symbolic sizes, and the tables that map torch's
modules, functions and methods to registry ops.  Imports core, ops and analysis; torch is imported
inside functions only, so that importing this package stays light.
"""
