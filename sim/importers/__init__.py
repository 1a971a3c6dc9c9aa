"""Importers of real classic estates: Service Management API responses and network configuration
files, each into an :class:`~sim.estate.Estate` plus warnings (see ``docs/importing.md``).

    result = import_asm(Path("exports/"))      # a folder of XML responses
    result = import_netcfg(Path("netcfg.xml"))  # a Get-AzureVNetConfig file
    write_estate(result, Path("estate.yaml"))   # refuses an existing file unless force=True
"""

from sim.importers.asm import import_asm
from sim.importers.netcfg import import_netcfg
from sim.importers.result import ImportResult, write_estate

__all__ = ["ImportResult", "import_asm", "import_netcfg", "write_estate"]
