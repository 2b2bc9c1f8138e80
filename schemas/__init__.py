"""The hub's contracts: Avro schemas, the topic catalogue, typed models, serde and registry client.

``connectors`` and ``streams`` depend on this package and never on each other.
"""
