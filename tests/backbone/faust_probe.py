"""A minimal faust worker for the backbone tests: decodes N values of a topic with the hub's
Avro deserializer and writes them as canonical JSON lines, then exits.

Run: python -m tests.backbone.faust_probe <bootstrap> <registry_url> <topic> <count> <out_file> [record_name]
"""

from __future__ import annotations

import os
import sys

import faust

from schemas.canonical import to_json
from schemas.models import from_avro
from schemas.registry_client import RegistryClient
from schemas.serde import AvroDeserializer

bootstrap, registry_url, topic_name, count, out_file = sys.argv[1:6]
record_name = sys.argv[6] if len(sys.argv) > 6 else "Grade"

app = faust.App(
    f"probe-{topic_name}",
    broker=f"kafka://{bootstrap}",
    value_serializer="raw",
    web_enabled=False,
    topic_disable_leader=True,
    broker_session_timeout=10,
    consumer_auto_offset_reset="earliest",
    datadir=os.path.join(os.path.dirname(out_file), "faust-data"),
)
topic = app.topic(topic_name, value_type=bytes, key_type=bytes)
deserializer = AvroDeserializer(RegistryClient(registry_url))
seen = 0


@app.agent(topic)
async def probe(stream):
    global seen
    async for event in stream.events():
        record = deserializer.deserialize(event.value, event.message.topic, event.message.partition, event.message.offset)
        with open(out_file, "a", encoding="utf-8") as out:
            out.write(to_json(from_avro(record_name, record)) + "\n")
        seen += 1
        if seen >= int(count):
            os._exit(0)  # the probe has what it came for


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "--loglevel=warn"]
    app.main()
