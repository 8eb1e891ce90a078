"""The control plane: store, identity, access policy, REST API, lifecycle."""
