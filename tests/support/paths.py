"""Where the repository and the shared 10-K filings are (tests may read them, never copy them).

Example::

    from support.paths import SHARED_DATA

    lyft = SHARED_DATA / "lyft_2021.pdf"
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data" / "10k"
