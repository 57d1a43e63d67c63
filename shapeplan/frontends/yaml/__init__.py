"""net.yaml -> Network: reading YAML with positions (:mod:`.source`), then the document
(:mod:`.document`), its blocks and layers (:mod:`.blocks`) and the network built from it
(:mod:`.network`: ``network_from_doc``, ``load_dict``).  Imports core and ops; never torch.
"""
