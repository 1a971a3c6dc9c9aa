from .asm import import_asm as import_asm
from .generate import estate_to_yaml as estate_to_yaml
from .generate import generate_estate as generate_estate
from .generate import scenario_yaml as scenario_yaml
from .netcfg import import_netcfg as import_netcfg
from .result import ImportResult as ImportResult
from .result import write_estate as write_estate
