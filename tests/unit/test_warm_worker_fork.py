"""What the warm worker's forks rely on: no pydantic model is left to build on first use.

Pydantic builds a deferred model under one lock shared by every model; a fork taken while
another thread of the worker held it waited for that lock for ever (a 1C exchange's
preparation run stuck in Submitting, seen in bench/production_load.py). The worker builds
every known model before each fork (flows/warm_worker.py)."""
import pydantic

from flows import warm_worker


def _models():
    classes, seen = pydantic.BaseModel.__subclasses__(), []
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        seen.append(cls)
    return seen


def test_before_a_fork_every_model_the_worker_knows_is_built():
    warm_worker._models_built()  # Prefect leaves hundreds of its models to be built on first use

    assert [cls for cls in _models() if not cls.__pydantic_complete__] == []
