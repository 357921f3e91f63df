"""Request ids: short, unguessable enough, and easy to read aloud."""

import base64
import secrets


def new_request_id() -> str:
    return "d-" + base64.b32encode(secrets.token_bytes(5)).decode().lower()
