"""The tokens of bench/million.py: bench/tokens.py's (a ~1 KB srm.txt of LTA SURLs, the fields
of a prefactor step), made one at a time, so that nothing but the client holds them all."""

from __future__ import annotations

from typing import Any, Dict, Iterator

from benchlib.tokens.workload import ID_APPEND, ID_PREFIX, KEY_NAME, TOKEN_CONFIG, surl_links
from grid_lrt.shared.schema import inline_attachment, make_token_id, new_token, reset_fields

TYPE = "million"
ATTACHMENT = "srm.txt"


def token_doc(n: int) -> Dict[str, Any]:
    """Token ``n``: a todo token with its ~1 KB ``srm.txt`` inline (base64)."""
    step = TOKEN_CONFIG["PIPELINE_STEP"]
    doc = new_token(
        TYPE, make_token_id(TYPE, f"{ID_APPEND}_{step}_{ID_PREFIX}{n:07d}"), TOKEN_CONFIG
    )
    doc[KEY_NAME] = f"{n:07d}"
    text = "".join(f"{link}\n" for link in surl_links(n)).encode("utf-8")
    doc["_attachments"] = {ATTACHMENT: inline_attachment(text, "text/plain")}
    return doc


def token_docs(count: int) -> Iterator[Dict[str, Any]]:
    """Tokens 0 .. ``count`` - 1, one at a time."""
    for n in range(count):
        yield token_doc(n)


def forced_reset(doc: Dict[str, Any]) -> bool:
    """Put a token back to todo whatever its state (``scrub_count + 1``): every token is written,
    which is what ``lrt tokens reset`` costs on a pool that has run (a todo token is otherwise
    left alone, and written by nobody)."""
    reset_fields(doc)
    return True
