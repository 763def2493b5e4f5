"""Small typed readers for the environment (django-environ underneath)."""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# A developer may keep overrides in .env at the repository root; the real environment wins.
_dotenv = BASE_DIR / ".env"
if _dotenv.exists():
    environ.Env.read_env(str(_dotenv), overwrite=False)

# Where the embedded studio keeps its state: the SQLite database, media, collected static
# files, the private Redis and the generated keys (``make run``). Default: var/ in the checkout.
VAR_DIR = Path(os.environ.get("MONTAGE_VAR_DIR") or BASE_DIR / "var").expanduser().resolve()
