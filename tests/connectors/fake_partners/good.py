from connectors.partners.example_csv import Settings, grade
from connectors.sdk import Connector


class Good(Connector):
    hei = "ucn.dk"
    name = "fake_good"
    settings_class = Settings
    mappings = {"grades": grade}
