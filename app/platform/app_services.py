"""Services built once per app from its configuration, and reached from inside that app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from flask import Flask, current_app

T = TypeVar("T")


class AppService(Generic[T]):
    """A named service of each app: `init_app(app)` builds it at start-up, so a bad setting
    stops the app instead of its first request; calling the service gives the current app's.

        vault = AppService("vault", build_cipher)   # once, at module level
        vault.init_app(app)                         # in create_app
        vault().encrypt(...)                        # anywhere inside the app
    """

    def __init__(self, name: str, build: Callable[[Flask], T]) -> None:
        self.name = name
        self.build = build

    def init_app(self, app: Flask) -> T:
        """Build the service from `app`'s configuration (again, if it was built before)."""
        service = app.extensions[self.name] = self.build(app)
        return service

    def __call__(self) -> T:
        return current_app.extensions[self.name]

    def __repr__(self) -> str:
        return f"<AppService {self.name}>"
