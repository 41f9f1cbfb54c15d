"""Where the knowledge data lives (the repository's data/ folder unless IPR_DATA_DIR says otherwise)."""

import os
from pathlib import Path

DATA_DIR = Path(os.environ.get("IPR_DATA_DIR") or Path(__file__).resolve().parents[2] / "data")
