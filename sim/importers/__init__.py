"""Estates from outside: real classic exports, network configuration files, synthetic estates.

Each importer produces an :class:`~sim.model.estate.Estate` plus warnings (see
``docs/importing.md``); nothing here simulates::

    result = import_asm(Path("exports/"))      # a folder of XML responses
    result = import_netcfg(Path("netcfg.xml"))  # a Get-AzureVNetConfig file
    write_estate(result, Path("estate.yaml"))   # refuses an existing file unless force=True
    estate = generate_estate(2000, seed=3)      # a synthetic estate for what-ifs at scale
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
