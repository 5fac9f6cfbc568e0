"""The field types every part of the preset model shares: strict, frozen models and a colour."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from dessins_de_planche.preset.palettes import parse_colour


def _colour(text: str) -> str:
    parse_colour(text)
    return text


Colour = Annotated[str, AfterValidator(_colour)]


class Strict(BaseModel):
    """A part of a preset: unknown keys refused, values frozen, no inf or nan."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False)
