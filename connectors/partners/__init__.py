"""Partner connectors: one module per institution (plus ``<module>.toml`` settings), found by ``hub connector``.

Adding a partner: copy ``example_csv.py`` to ``<name>.py``, set ``hei``, declare
settings, sources and mappings; put defaults in ``<name>.toml`` and secrets in
``HUB_<HEI>_*`` variables; then ``hub connector check <hei>`` and
``hub connector dry-run <hei> --limit 5``. Its test is a few lines subclassing
``connectors.sdk.testing.ConnectorTestSuite``.
"""
