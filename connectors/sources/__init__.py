"""Source kinds any partner connector can use: HTTP polling, Atom feed, file drop, SQL polling, webhook, EWP."""

from connectors.sources._files import FileDropSource, element_dict

__all__ = ["FileDropSource", "element_dict"]
