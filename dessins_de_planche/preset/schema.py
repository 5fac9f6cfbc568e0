"""The JSON Schema of a preset, generated from the same pydantic model that validates the files.

Editors use it to complete and check keys (e.g. VS Code's Even Better TOML, or any
editor with taplo: put `#:schema ../docs/preset.schema.json` at the top of a preset).
Regenerate `docs/preset.schema.json` after changing the model:

    .venv/bin/python -m dessins_de_planche.preset.schema > docs/preset.schema.json

(a test fails while the committed file is out of date).
"""

from __future__ import annotations

import json
import sys

from dessins_de_planche.preset.model import Preset

SCHEMA_ID = "https://dessins-de-planche.invalid/preset.schema.json"


def preset_schema() -> dict:
    schema = Preset.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "Dessins de Planche preset", **schema}


def schema_text() -> str:
    return json.dumps(preset_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(schema_text())
