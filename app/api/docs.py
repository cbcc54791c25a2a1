"""flask-smorest's Api, answering errors in the one shape and serving its docs UI offline."""

from __future__ import annotations

from pathlib import Path

import flask_smorest
import marshmallow as ma
import swagger_ui_bundle
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Blueprint, Flask, Response, render_template, send_from_directory, url_for
from werkzeug.exceptions import HTTPException

from app.api.converters import PATH_CONVERTERS, converter_schema
from app.api.error_statuses import ErrorStatusesPlugin
from app.api.validators import documented_rules


class ErrorSchema(ma.Schema):
    """The one error shape (see DESIGN.md)."""

    code = ma.fields.Integer(metadata={"example": 422})
    status = ma.fields.String(metadata={"example": "Unprocessable Entity"})
    error = ma.fields.String(metadata={"description": "stable code clients switch on",
                                       "example": "validation_error"})
    message = ma.fields.String(metadata={"description": "for people, in Chinese"})
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(),
                            metadata={"description": "field name → messages"})
    request_id = ma.fields.String()


def schema_name(schema: type[ma.Schema] | ma.Schema) -> str:
    """OpenAPI component names: `ItemIn` for a body, `ItemInPatch` for its partial form."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema")
    if isinstance(schema, ma.Schema) and (schema.partial or schema.exclude or schema.only):
        name += "Patch"
    return name


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema
    # No catch-all `default`: each operation lists the error statuses it answers
    # (error_statuses.py), so an answer the document leaves out is a finding.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for converter in PATH_CONVERTERS.values():
            self.register_converter(converter, converter_schema)

    def init_app(self, app: Flask, *args, **kwargs) -> None:
        # Before any route is added: the rules name these converters.
        app.url_map.converters.update(PATH_CONVERTERS)
        spec_kwargs = kwargs.setdefault("spec_kwargs", {})
        plugin = spec_kwargs.setdefault("marshmallow_plugin",
                                        MarshmallowPlugin(schema_name_resolver=schema_name))
        spec_kwargs["extra_plugins"] = [*spec_kwargs.get("extra_plugins", ()),
                                        ErrorStatusesPlugin()]
        super().init_app(app, *args, **kwargs)
        plugin.converter.add_attribute_function(documented_rules)
        if "bearerAuth" not in self.spec.components.security_schemes:
            self.spec.components.security_scheme(
                "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
        app.register_blueprint(_docs_assets)

    def _openapi_swagger_ui(self) -> str:
        """The docs page, with no inline script: a file of ours starts Swagger UI."""
        return render_template(
            "docs_page.html", title=self.spec.title,
            spec_url=url_for(f"{self._make_doc_blueprint_name()}.openapi_json"),
            assets_url=self._swagger_ui_url,
            ui_config=self.config.get("OPENAPI_SWAGGER_UI_CONFIG", {}))

    def handle_http_exception(self, error: HTTPException) -> Response:
        # Imported here: app.api.errors needs app.extensions, which is built on this module.
        from app.api.errors import handle_http_exception

        return handle_http_exception(error)


_ASSETS = Path(swagger_ui_bundle.swagger_ui_path)
_OWN_FILES = Path(__file__).with_name("docs_ui")
_docs_assets = Blueprint("docs_assets", __name__, url_prefix="/api/v1/docs/assets",
                         template_folder=_OWN_FILES)


@_docs_assets.get("/<path:filename>")
def docs_asset(filename: str) -> Response:
    """Swagger UI's scripts and styles, shipped in a package so the docs need no CDN."""
    return send_from_directory(_ASSETS, filename, max_age=86400)


@_docs_assets.get("/docs-init.js")
def docs_init_script() -> Response:
    """The script that starts Swagger UI on the docs page."""
    return send_from_directory(_OWN_FILES, "docs-init.js", max_age=3600)
