"""Partner connectors: read each SIS in its native format, publish hub events to ``sis.<hei>.*``.

``connectors.sdk`` is the framework, ``connectors.sources`` the source kinds,
``connectors.partners`` one module per institution, ``connectors.sinks`` the
write-back into a home SIS. This package depends on ``schemas`` only (never on
``hub`` or ``streams``); ``hub connector`` wires settings, Kafka and the registry in.
"""
