"""Request ids: short, unguessable enough, and easy to read aloud."""

import base64
import secrets


def new_request_id() -> str:
    return "d-" + base64.b32encode(secrets.token_bytes(5)).decode().lower()


def new_attempt_id() -> str:
    """Names one try to run a request, so that retrying its claim is the same try."""
    return secrets.token_hex(8)
