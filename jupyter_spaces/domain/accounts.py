"""Pure helpers for user identity: initials, colours, tokens and password hashes."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Distinct colours readable on light and dark themes (JupyterLab's collaborator palette
# extended). A new user takes the first one nobody has; the choice is stored, so it is
# stable for the life of the user.
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#e377c2",
    "#8c564b", "#bcbd22", "#7f7f7f", "#393b79", "#ad494a", "#637939", "#843c39",
    "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
)  # fmt: skip

_hasher = PasswordHasher()


def initials_for(display_name: str) -> str:
    words = [w for w in display_name.replace("_", " ").replace("-", " ").split() if w]
    if not words:
        return "?"
    # Upper-casing can lengthen a letter (ﬃ → FFI): cut after it.
    if len(words) == 1:
        return words[0][:2].upper()[:2]
    return (words[0][0].upper()[:1] + words[-1][0].upper()[:1])


def pick_color(name: str, taken: set[str]) -> str:
    for color in PALETTE:
        if color not in taken:
            return color
    # Palette exhausted: a stable choice derived from the name.
    digest = hashlib.sha256(name.encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
