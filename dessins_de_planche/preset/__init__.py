"""Presets: one look per TOML file, validated by one model (see `model.py`, its layers in `layer_kinds.py`), loaded by `loader.py`."""

from dessins_de_planche.preset.loader import IDLE_PRESET, PresetError, load_gallery, load_preset, preset_by_name
from dessins_de_planche.preset.layer_kinds import LAYER_KINDS
from dessins_de_planche.preset.model import FORMAT, Preset, register_layer_kind

__all__ = ["FORMAT", "IDLE_PRESET", "LAYER_KINDS", "Preset", "PresetError", "load_gallery", "load_preset",
           "preset_by_name", "register_layer_kind"]
