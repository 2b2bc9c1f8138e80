"""AtomFeedSource(as_dict=True): each entry as a dict of its content; text content is a bad record."""

from __future__ import annotations

from connectors.sdk import BadRecord, NativeRecord
from connectors.sources import AtomFeedSource
from tests.connectors.servers import ScriptedServer

FEED = b"""<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:id:1</id><link rel="self" href="/feed"/>
<entry><id>e2</id><updated>2025-06-01T10:02:00Z</updated><category term="x/ResultatPaHelKursAttesteratEvent"/>
<content type="application/vnd.ladok+xml">&lt;rr:Resultat&gt;cut</content></entry>
<entry><id>e1</id><updated>2025-06-01T10:01:00Z</updated><category term="http://schemas.ladok.se/resultat/RegEvent"/>
<content type="application/vnd.ladok+xml"><rr:RegEvent xmlns:rr="http://schemas.ladok.se/resultat">
<rr:StudentUID>s1</rr:StudentUID><rr:Resultat><rr:BetygsgradID>2302</rr:BetygsgradID></rr:Resultat>
<rr:StudentUID>later</rr:StudentUID></rr:RegEvent></content></entry></feed>"""


def test_entries_as_dicts_of_their_content_and_text_content_is_bad() -> None:
    with ScriptedServer() as srv:
        srv.routes["/feed"] = lambda q: (200, {"Content-Type": "application/atom+xml"}, FEED)
        source = AtomFeedSource("feed", f"{srv.url}/feed", as_dict=True)
        try:
            first, second = list(source.read(None))
        finally:
            source.close()
    assert isinstance(first, NativeRecord) and first.identity == "e1"
    assert first.data == {"id": "e1", "updated": "2025-06-01T10:01:00Z", "event": "RegEvent", "StudentUID": "s1",
                          "Resultat": {"BetygsgradID": "2302"}}
    assert isinstance(second, BadRecord) and second.identity == "e2" and second.error_kind == "parse"
    assert "no XML element as content" in second.reason and second.cursor == {"entry": "e2", "page": None}
