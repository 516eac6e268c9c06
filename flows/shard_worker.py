"""The worker of the shard pool: `python -m flows.shard_worker --limit 1 [--name HOST]
[--query-seconds 1]`, the warm worker (flows/warm_worker.py) serving onec-images-shards."""
from flows.shards import SHARD_POOL
from flows.warm_worker import main

if __name__ == "__main__":
    main(pool=SHARD_POOL, limit=1)
