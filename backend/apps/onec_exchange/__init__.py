"""The 1C site exchange over HTTP (`/1c/exchange`): checkauth, init, file, import
(polled), deactivate, complete; `type=sale` answered harmlessly.

One job per module: `services.auth` (checkauth, the lock-out, the cookie, init's limits),
`services.receiving` (file pieces streamed into staging), `services.staging` (names,
layout and safe unpacking: file work only), `services.layout` (unpacking and moving the
staged files into the exchange directory), `services.runs` (which import runs a file
starts, starting and following them), `services.protocol` (the polls' state machine),
`services.sale` (the orders stub).

The web process answers; workers work. A request writes what 1C sent and reads rows: no
thread, pool or timer is started there, and nothing the exchange needs lives in a web
process' memory, so gunicorn may recycle or kill a web worker at any moment. The first
`import` poll of a file creates a run of the Prefect deployment
`prepare-exchange-import/onec-exchange` (flows/onec_exchange.py, pool `onec-imports`);
its retried tasks unpack and lay the files out, start the file's import runs one after
the other and follow them, and write what they do to the `ExchangeImport` row, which
every later poll answers from.

Where the files live when the web server and the workers are different hosts
(docs/onec-exchange-hosts.md): the web process writes 1C's files into
`ONEC_EXCHANGE_STAGING_DIR`; the `onec-imports` worker reads them there and moves them
into `ONEC_DATA_DIR`, which the import runs read. So both directories must be the same
directories on the web host and on every host of an `onec-imports` worker: one shared
filesystem (NFS or the like, both directories on it, so a move is a rename), or the
`onec-imports` worker pool runs on the web host itself. The web process and the worker
share nothing else but the database (tests/exchange/test_fresh_web_processes.py runs them
as separate processes that way).
"""
