"""net.yaml -> Network: reading YAML with positions (:mod:`.source`), then the document, its blocks and
the network built from it.  Imports core and ops; never torch.
"""
