"""The recognition core stays free of Kafka and faust, and keeps one front door."""

from __future__ import annotations

import json
import subprocess
import sys

import streams.recognition as recognition


def test_recognition_and_grading_import_no_kafka_or_faust():
    code = (
        "import sys, json, streams.recognition, schemas.grading\n"
        "from streams.recognition import RecognitionEngine, convert, HostResult\n"
        "convert(HostResult('ucn.dk/7-point', '12'), 'fontys.nl')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('kafka', 'aiokafka', 'faust'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []


def test_front_door_exports_what_it_names():
    assert sorted(recognition.__all__) == sorted(set(recognition.__all__))
    for name in recognition.__all__:
        assert getattr(recognition, name) is not None
