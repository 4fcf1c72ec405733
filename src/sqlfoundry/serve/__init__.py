"""The NL2SQL gateway: an OpenAI-compatible service assembled from a config file.

``create_app(load_gateway_config(...))`` builds the FastAPI app; ``sqlfoundry
serve`` runs it. See :mod:`sqlfoundry.serve.config` for the settings and
:mod:`sqlfoundry.serve.app` for the routes.
"""

from sqlfoundry.serve.app import create_app, run_server
from sqlfoundry.serve.config import GatewayConfig, ServiceConfig, load_gateway_config

__all__ = ["GatewayConfig", "ServiceConfig", "create_app", "load_gateway_config", "run_server"]
