from .dispatch import Dispatch as Dispatch
from .dispatch import PrepareAhead as PrepareAhead
from .platform import Platform as Platform
from .remedies import REMEDIES as REMEDIES
from .sampling import Sampler as Sampler
from .sampling import replication_seed as replication_seed
from .simulation import simulate as simulate
from .throttle import TokenBucket as TokenBucket
