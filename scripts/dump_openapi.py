"""Write the HTTP API's OpenAPI document to a file, for the Studio's generated types.

    python scripts/dump_openapi.py studio/src/api/openapi.json

The FastAPI application is built in-process (``partitur.app.create_app``; nothing is served
and no database is opened). The file is rewritten only when the document changed, so the
Studio's build steps that depend on it are skipped when the API stayed the same.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from partitur.app import create_app
from partitur.settings import Settings


def main(target: Path) -> None:
    document = create_app(Settings()).openapi()
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: dump_openapi.py TARGET.json")
    main(Path(sys.argv[1]))
