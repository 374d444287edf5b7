"""Settings of the processes service (prefix `OPENEO_PROCESSES_`)."""

from pydantic_settings import SettingsConfigDict

from eoplex_common.process_graph import GraphLimits
from eoplex_common.settings import ServiceSettings


class ProcessesSettings(ServiceSettings):
    """Where the processes service listens and how large a valid process may be;
    infrastructure URLs come from `ServiceSettings`."""

    model_config = SettingsConfigDict(env_prefix="OPENEO_PROCESSES_", extra="ignore")

    listen: str = "127.0.0.1:50064"
    max_graph_nodes: int = GraphLimits().max_nodes
    max_graph_depth: int = GraphLimits().max_depth

    def graph_limits(self) -> GraphLimits:
        """The limits `POST /validation` reports as ProcessGraphComplexity."""
        return GraphLimits(max_nodes=self.max_graph_nodes, max_depth=self.max_graph_depth)
