"""Finished runs kept on disk, so that a long run over many seeds can stop and carry on later.

Each (policy, seed) that finishes is written as JSON under `<out>/runs/<fingerprint>/`, where
the fingerprint is a hash of the whole configuration: a run with other parameters never picks
up these figures. A run asked for again loads what is there and runs only what is missing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from network.simulation.config import SimConfig
from network.simulation.metrics import Metrics


def fingerprint(config: SimConfig) -> str:
    return hashlib.sha256(repr(config).encode()).hexdigest()[:12]


class RunStore:
    def __init__(self, root: Path, config: SimConfig) -> None:
        self.dir = root / "runs" / fingerprint(config)
        self._config = config

    def _path(self, policy: str, seed: int) -> Path:
        return self.dir / f"{policy}-seed{seed}.json"

    def load(self, policy: str, seed: int) -> tuple[Metrics, float] | None:
        """Return a finished run's metrics and seconds, or None if it is not stored (or unreadable)."""
        try:
            data = json.loads(self._path(policy, seed).read_text())
            return Metrics(**data["metrics"]), float(data["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def load_all(
        self, policies: Sequence[str], seeds: Sequence[int]
    ) -> dict[tuple[str, int], tuple[Metrics, float]]:
        """Every stored run among these, by (policy, seed)."""
        found = {(name, seed): self.load(name, seed) for seed in seeds for name in policies}
        return {key: value for key, value in found.items() if value is not None}

    def save(self, policy: str, seed: int, metrics: Metrics, seconds: float) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        config_note = self.dir / "config.txt"
        if not config_note.exists():
            config_note.write_text(repr(self._config) + "\n")
        path = self._path(policy, seed)
        partial = path.with_suffix(".tmp")  # a run killed mid-write leaves no half file behind
        partial.write_text(json.dumps({"seconds": seconds, "metrics": dataclasses.asdict(metrics)}))
        partial.replace(path)
