"""The 1C exchange's domain exceptions."""


class ExchangeRefusedError(Exception):
    """A request that is answered `failure`; the message says why and what to do."""


class ExchangeImportFailedError(Exception):
    """An exchange import ended `failed`: its preparation flow run fails with the reason 1C is told."""
