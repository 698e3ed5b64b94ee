# The merchant, its token and the live-server settings of the Python contract tests.
from tests.contract.conftest import _live_server_closes_connections, contract_organization, contract_token  # noqa: F401
